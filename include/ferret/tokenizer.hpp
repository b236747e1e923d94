#pragma once
// Byte-level tokenizer: every byte of the UTF-8 text is one token (ids 0..255), plus three special ids.
// Used with the embedded synthetic tasks and the small byte-level models, where no vocabulary file is wanted.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferret {

class ByteTokenizer {
 public:
  static constexpr int32_t kPad = 256, kBos = 257, kEos = 258;
  static constexpr int32_t kVocabSize = 259;

  // One id per byte, in 0..255; any byte sequence (also invalid UTF-8) round-trips through decode.
  std::vector<int32_t> encode(std::string_view text) const;

  // Bytes of the ids up to the first kEos (excluded); kPad and kBos are skipped.
  // Throws std::invalid_argument for an id outside 0..kVocabSize-1 (a model/tokenizer vocabulary mismatch).
  std::string decode(std::span<const int32_t> ids) const;
};

}  // namespace ferret
