// defines: Rouge-L: F1 of the longest common subsequence of rouge-score tokens.

#include "data/rouge.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace ferret {

namespace {

// One UTF-8 code point starting at text[i] (advancing i); a malformed byte counts as one code point
// U+FFFD, which is a separator like every non-alphanumeric character.
char32_t next_code_point(std::string_view text, size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const int length = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + static_cast<size_t>(length) > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? b0 : (b0 & (0x7F >> length));
  for (int k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += static_cast<size_t>(length);
  return cp;
}

// The ASCII character Python's str.lower() maps `cp` to when it is alphanumeric afterwards, else 0.
// Only two non-ASCII code points lower-case into [a-z]: U+0130 (İ → "i" + U+0307) and U+212A (Kelvin
// sign → "k"); rouge-score keeps that ASCII letter, so we must too.
char lowered_alnum(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return static_cast<char>(cp - 'A' + 'a');
  if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) return static_cast<char>(cp);
  if (cp == 0x0130) return 'i';
  if (cp == 0x212A) return 'k';
  return 0;
}

// rouge-score's default tokenizer (no stemming): lower-case, every run of characters outside
// [a-z0-9] becomes a separator, empty tokens dropped.
std::vector<std::string> rouge_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (size_t i = 0; i < text.size();) {
    const char32_t cp = next_code_point(text, i);
    const char c = lowered_alnum(cp);
    if (c != 0) current.push_back(c);
    // U+0130 lower-cases to "i" + U+0307 (a combining dot, itself a separator): the token ends after the i.
    if ((c == 0 || cp == 0x0130) && !current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

// Classic dynamic programme, two rows: O(|a|·|b|) time, O(|b|) memory.
size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<size_t> previous(b.size() + 1, 0), current(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j)
      current[j] = (a[i - 1] == b[j - 1]) ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

double rouge_l(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> pred = rouge_tokens(prediction), ref = rouge_tokens(reference);
  if (pred.empty() || ref.empty()) return 0.0;  // rouge-score: no tokens on either side scores 0
  const size_t lcs = lcs_length(pred, ref);
  if (lcs == 0) return 0.0;
  const double precision = static_cast<double>(lcs) / static_cast<double>(pred.size());
  const double recall = static_cast<double>(lcs) / static_cast<double>(ref.size());
  return 2.0 * precision * recall / (precision + recall);
}

double mean_rouge_l(std::span<const std::string> preds, std::span<const std::string> refs) {
  if (preds.size() != refs.size())
    throw std::invalid_argument("mean_rouge_l: " + std::to_string(preds.size()) + " predictions for " +
                                std::to_string(refs.size()) + " references (allowed: equal counts)");
  if (preds.empty()) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < preds.size(); ++i) sum += rouge_l(preds[i], refs[i]);
  return sum / static_cast<double>(preds.size());
}

}  // namespace ferret
