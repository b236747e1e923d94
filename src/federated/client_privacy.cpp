// defines: the implementation of client_privacy.hpp
#include "federated/client_privacy.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace ferret {

ClientPrivacy::ClientPrivacy(const Config& c)
    : clip_(c.dp_clip),
      z_(c.dp_noise_multiplier),
      delta_(c.dp_delta),
      target_(c.dp_target_epsilon),
      q_(c.participation),
      num_clients_(c.num_clients) {}

std::vector<int> ClientPrivacy::sample(Comm& comm, int num_clients) {
  std::string chosen;  // one byte a client: '1' taken, '0' not (N bytes of control traffic)
  if (comm.is_root()) {
    chosen.assign(static_cast<size_t>(num_clients), '0');
    for (int cl : random_.poisson_sample(num_clients, q_)) chosen[static_cast<size_t>(cl)] = '1';
  }
  chosen = comm.broadcast_string(chosen);
  std::vector<int> selected;
  for (int cl = 0; cl < num_clients; ++cl)
    if (chosen[static_cast<size_t>(cl)] == '1') selected.push_back(cl);
  return selected;
}

double ClientPrivacy::clip(std::span<float> payload) const {
  double sq = 0.0;
  for (float x : payload) sq += static_cast<double>(x) * x;
  const double norm = std::sqrt(sq);
  if (norm > clip_) {
    const auto scale = static_cast<float>(clip_ / norm);
    for (float& x : payload) x *= scale;
  }
  return norm;
}

void ClientPrivacy::add_noise(std::span<float> x, int shares) {
  if (z_ > 0.0) random_.add_gaussian(x, z_ * clip_ / std::sqrt(static_cast<double>(std::max(shares, 1))));
}

bool ClientPrivacy::next_round_exceeds_target() const {
  return on() && target_ > 0.0 && epsilon_after_next_round() > target_;
}

}  // namespace ferret
