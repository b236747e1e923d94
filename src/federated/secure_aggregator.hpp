// defines: SecureAggregator — the upload reduce under --secure-aggregation: rank 0 (and every rank
//          on the reduction's path) sees only masked uploads and learns nothing but their sum
//
// At setup every rank makes a fresh X25519 key pair and broadcasts its public key (the only key
// material that travels; counted as control bytes); each pair of ranks then shares a key nobody
// else can compute (privacy/secure_aggregation.hpp). In a round, every sending rank quantises its
// upload — payload and UploadHeader — to uint64 fixed point, adds ± a ChaCha20 mask per other
// sender for that round, and the ranks reduce with MPI_SUM on uint64, where the masks cancel
// exactly; rank 0 turns the sum back into floats. A sender whose clients were all dropped still
// sends its masks (and a zero update), so the sum stays right.
// Bounds (so the sum cannot wrap): under --dp-clip every client's payload has norm ≤ C, so a
// coordinate of the sum is ≤ N·C, plus the noise shares' total, bounded by 40 z C; the header
// holds counts ≤ N and a loss sum clamped to N·10⁶. Quantisation error: at most S/2 resolution
// steps per coordinate for S senders (resolution = 1/scale, printed at setup).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "comm/mpi_comm.hpp"
#include "config/config.hpp"
#include "privacy/secure_aggregation.hpp"

namespace ferret {

class SecureAggregator {
 public:
  // Collective: every rank's public key reaches every rank.
  SecureAggregator(const Config& c, Comm& comm, size_t payload_floats, size_t header_floats);

  // Replaces rank 0's `upload` (payload floats, then the header) by the sum over `senders` of every
  // sender's upload; other ranks' buffers are left as they were.
  void reduce(Comm& comm, std::span<float> upload, const std::vector<bool>& senders, uint64_t round);

  // "fixed point: payload resolution 2^-40, header 2^-20" for the log.
  std::string describe() const;

 private:
  KeyPair keys_;
  std::vector<SharedKey> pair_keys_;  // by rank: the key shared with that rank (X25519 once, at setup)
  size_t payload_, header_;
  FixedPoint payload_fp_, header_fp_;
  double loss_bound_;
  std::vector<uint64_t> buffer_;
};

}  // namespace ferret
