// defines: checksum_floats, checksum_params, ParamsChecksum, checksum_server_state — the
//          checkpoint's params_checksum / server_checksum, and the cross-rank parameter check
//
// One algorithm for every place ferret compares float data by hash: a checkpoint stores these
// values and read_checkpoint recomputes them, and federated/ compares ranks' parameters with
// checksum_floats. Changing anything here makes every existing checkpoint read as corrupt, so
// the algorithm is spelled out below and pinned by a golden-value test (tests/unit/io/).
//
// checksum_floats(v), n = v.size(), words = the 32-bit patterns of v (zero-extended to 64 bits):
//   eight lanes, lane[j] = FNV-64 offset basis + j;
//   for each whole group of eight words v[i..i+7]: lane[j] = (lane[j] ^ word[i+j]) * FNV-64 prime;
//   the n mod 8 trailing words go through one more chain h (from the offset basis), same step;
//   then h = mix64(h ^ lane[j]) for j = 0..7, and the result is mix64(h ^ n).
// mix64 is splitmix64's finaliser. FNV-1a-style, but over 32-bit words and not byte-compatible
// with FNV-1a; order-dependent; -0.0 ≠ 0.0 and NaN payloads count. Not cryptographic.
#pragma once

#include <cstdint>
#include <span>

#include "io/checkpoint_file.hpp"  // TensorEntry

namespace ferret {

uint64_t checksum_floats(std::span<const float> values);

// Running form of checksum_params, for a reader that sees one tensor at a time:
//   h = FNV-64 offset basis; for each tensor in order: h = mix64(h ^ checksum_floats(data)).
// Only the values and their order count: names and shapes are not hashed (read_checkpoint checks
// those structurally).
class ParamsChecksum {
 public:
  ParamsChecksum();
  void add(std::span<const float> tensor_data);
  uint64_t value() const { return h_; }

 private:
  uint64_t h_;
};

// The checkpoint's params_checksum: ParamsChecksum over every tensor's data, in order.
uint64_t checksum_params(std::span<const TensorEntry> params);

// The checkpoint's server_checksum:
//   mix64(mix64(FNV-64 offset basis ^ checksum_floats(momentum)) ^ checksum_floats(extra)).
uint64_t checksum_server_state(std::span<const float> momentum, std::span<const float> extra);

}  // namespace ferret
