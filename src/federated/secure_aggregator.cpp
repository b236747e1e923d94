// defines: the implementation of secure_aggregator.hpp
#include "federated/secure_aggregator.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

namespace ferret {
namespace {

constexpr double kMaxHeaderLoss = 1e6;  // a client's training loss counts as at most this in the header

}  // namespace

SecureAggregator::SecureAggregator(const Config& c, Comm& comm, size_t payload_floats, size_t header_floats)
    : payload_(payload_floats),
      header_(header_floats),
      payload_fp_(static_cast<double>(c.num_clients) * c.dp_clip + 40.0 * c.dp_noise_multiplier * c.dp_clip),
      header_fp_(static_cast<double>(c.num_clients) * kMaxHeaderLoss),
      loss_bound_(static_cast<double>(c.num_clients) * kMaxHeaderLoss) {
  const PublicKey& mine = keys_.public_key();
  const std::string my_key(reinterpret_cast<const char*>(mine.data()), mine.size());
  pair_keys_.resize(static_cast<size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const std::string key = comm.broadcast_string(my_key, r);
    if (r == comm.rank()) continue;  // no key with itself
    PublicKey theirs{};
    std::memcpy(theirs.data(), key.data(), std::min(key.size(), theirs.size()));
    pair_keys_[static_cast<size_t>(r)] = keys_.shared_with(theirs, comm.rank() < r);
  }
  buffer_.resize(payload_ + header_);
}

void SecureAggregator::reduce(Comm& comm, std::span<float> upload, const std::vector<bool>& senders, uint64_t round) {
  const int me = comm.rank();
  std::fill(buffer_.begin(), buffer_.end(), 0);
  if (senders[me]) {
    payload_fp_.quantize(upload.first(payload_), std::span(buffer_).first(payload_));
    std::vector<float> header(upload.begin() + static_cast<std::ptrdiff_t>(payload_), upload.end());
    for (float& h : header) h = static_cast<float>(std::clamp(static_cast<double>(h), -loss_bound_, loss_bound_));
    header_fp_.quantize(header, std::span(buffer_).subspan(payload_));
    std::vector<MaskPeer> peers;
    for (int r = 0; r < comm.size(); ++r)
      if (r != me && senders[r]) peers.push_back({r, pair_keys_[static_cast<size_t>(r)]});
    add_pairwise_masks(buffer_, me, peers, round);
  }
  comm.reduce_sum_to_root(std::span<uint64_t>(buffer_), senders);
  if (!comm.is_root()) return;
  payload_fp_.dequantize(std::span<const uint64_t>(buffer_).first(payload_), upload.first(payload_));
  header_fp_.dequantize(std::span<const uint64_t>(buffer_).subspan(payload_), upload.subspan(payload_));
}

std::string SecureAggregator::describe() const {
  std::ostringstream os;
  os << "secure aggregation: uint64 fixed point, payload resolution 2^" << -std::log2(payload_fp_.scale())
     << ", header 2^" << -std::log2(header_fp_.scale()) << "; " << pair_keys_.size() << " X25519 public keys exchanged";
  return os.str();
}

}  // namespace ferret
