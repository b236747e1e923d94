// defines: CharClass, classify, unicode_version — the Unicode classes of the BPE pre-tokenizer regexes
//
// \p{L}, \p{N} and \s as the regex engine of Hugging Face `tokenizers` (Oniguruma) sees them; the table
// behind classify_slow is generated (scripts/gen_unicode_tables.py → src/unicode_tables.cpp).
#pragma once

#include <cstdint>

namespace ferret::unicode {

enum class CharClass : uint8_t { kOther, kLetter, kNumber, kSpace };

CharClass classify_slow(char32_t cp);  // binary search over the generated ranges
const char* unicode_version();         // of the generated table, e.g. "14.0.0"

// ASCII is most text the tokenizer sees: answer it without the search.
inline CharClass classify(char32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::kSpace;
    return CharClass::kOther;
  }
  return classify_slow(cp);
}

}  // namespace ferret::unicode
