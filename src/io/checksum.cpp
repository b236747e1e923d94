// defines: checksum_floats, ParamsChecksum, checksum_params, checksum_server_state
//
// Separate from the HDF5 code because it is pure arithmetic on the hot path of a checkpoint (and
// of the cross-rank check) and must never change: see checksum.hpp for the algorithm.
#include "io/checksum.hpp"

#include <cstddef>
#include <cstring>

namespace ferret {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// splitmix64's finaliser: a bijection that spreads every input bit over the output. FNV's
// multiply only carries bits upward, so lanes and tensors are combined through this.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

}  // namespace

uint64_t checksum_floats(std::span<const float> values) {
  // Eight independent FNV-1a lanes over 32-bit words: one multiply chain would stall on its latency.
  constexpr size_t kLanes = 8;
  uint64_t lane[kLanes];
  for (size_t j = 0; j < kLanes; ++j) lane[j] = kFnvOffset + j;
  const size_t n = values.size(), whole = n - n % kLanes;
  for (size_t i = 0; i < whole; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) lane[j] = (lane[j] ^ float_bits(values[i + j])) * kFnvPrime;
  uint64_t h = kFnvOffset;
  for (size_t i = whole; i < n; ++i) h = (h ^ float_bits(values[i])) * kFnvPrime;
  for (size_t j = 0; j < kLanes; ++j) h = mix64(h ^ lane[j]);
  return mix64(h ^ static_cast<uint64_t>(n));  // the length, so trailing zeros count
}

ParamsChecksum::ParamsChecksum() : h_(kFnvOffset) {}

void ParamsChecksum::add(std::span<const float> tensor_data) { h_ = mix64(h_ ^ checksum_floats(tensor_data)); }

uint64_t checksum_params(std::span<const TensorEntry> params) {
  ParamsChecksum sum;
  for (const auto& t : params) sum.add(t.data);
  return sum.value();
}

uint64_t checksum_server_state(std::span<const float> momentum, std::span<const float> extra) {
  return mix64(mix64(kFnvOffset ^ checksum_floats(momentum)) ^ checksum_floats(extra));
}

}  // namespace ferret
