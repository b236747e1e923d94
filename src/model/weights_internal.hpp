// defines: MappedFile, fp16_to_fp32, bf16_to_fp32, element_count, shape_string, check_model_values,
// check_disjoint_ranges — helpers shared by the safetensors and GGUF readers (safetensors.cpp,
// gguf.cpp, weights.cpp); not installed.

#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ferret::detail {

// Both formats store little-endian numbers, which the readers memcpy as they are.
static_assert(std::endian::native == std::endian::little, "the weight readers assume a little-endian host");

// A whole file mapped read-only (POSIX mmap); unmapped on destruction. The OS pages in only the tensors
// actually read, so opening a multi-gigabyte checkpoint costs nothing until its tensors are copied.
class MappedFile {
 public:
  explicit MappedFile(std::string path);  // std::runtime_error naming the path when it cannot be mapped
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// IEEE binary16 → binary32, exact for every input: subnormals, ±0, ±inf and NaN (payload kept).
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    // Zero or subnormal: mantissa · 2^-24, exactly representable in fp32.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));  // rebias 15 → 127
}

// bfloat16 is the upper half of a binary32.
inline float bf16_to_fp32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Product of the dimensions; std::runtime_error (naming `what`) on a negative dimension or overflow.
int64_t element_count(const std::vector<int64_t>& shape, const std::string& what);

// "[576, 1536]"
std::string shape_string(const std::vector<int64_t>& shape);

// How a file names each ModelConfig field, for messages: GGUF "llama.block_count", config.json
// "num_hidden_layers". `where` is the message's opening ("GGUF 'f.gguf': metadata key", "'config.json':").
struct ModelKeys {
  std::string where;
  const char *hidden, *intermediate, *layers, *heads, *kv_heads, *vocab, *eps, *theta;
};
// Every architectural number within what a LLaMA can be, before anything is sized from them:
// std::runtime_error "<where> 'llama.block_count' is 0 (allowed: 1 .. 1024)". `has_vocab`: false
// when the file leaves the vocabulary to the tokenizer (checked later).
void check_model_values(const ModelConfig& m, const ModelKeys& keys, bool has_vocab = true);

// A tensor's bytes [begin, begin + size) in a file.
struct ByteRange {
  const std::string* name;
  uint64_t begin, size;
};
// Refuses two tensors whose bytes overlap (a retyped or aliased tensor would read another's data):
// std::runtime_error "<where>: tensors 'a' and 'b' share bytes [x, y)".
void check_disjoint_ranges(std::vector<ByteRange> ranges, const std::string& where);

}  // namespace ferret::detail
