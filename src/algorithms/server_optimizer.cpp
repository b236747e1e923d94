// defines: the implementation of server_optimizer.hpp
#include "algorithms/server_optimizer.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace ferret {

double server_lr_at(const ServerOptions& o, int64_t round) {
  const double progress = static_cast<double>(round) / static_cast<double>(std::max<int64_t>(o.rounds, 1));
  switch (o.schedule) {
    case LrSchedule::constant: return o.lr;
    case LrSchedule::linear: return o.lr_min + (o.lr - o.lr_min) * (1.0 - progress);
    case LrSchedule::cosine: return o.lr_min + (o.lr - o.lr_min) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
  throw std::logic_error("server_lr_at: unknown schedule");
}

ServerOptimizer::ServerOptimizer(ServerOptions options, size_t dim,
                                 std::function<double(std::span<const float>)> norm_of)
    : options_(std::move(options)), norm_of_(std::move(norm_of)) {
  if (options_.momentum > 0.0) momentum_.assign(dim, 0.0f);
}

void ServerOptimizer::set_momentum(std::vector<float> m) {
  if (options_.momentum == 0.0) return;  // a momentum-free run ignores stored momentum
  if (m.size() != momentum_.size())
    throw std::runtime_error("server momentum has " + std::to_string(m.size()) + " entries, expected " +
                             std::to_string(momentum_.size()));
  momentum_ = std::move(m);
}

void ServerOptimizer::step(std::span<float> update, double weight_sum, int64_t round) {
  if (!(weight_sum > 0.0)) throw std::runtime_error("server step: total client weight is " + std::to_string(weight_sum));
  const float inv_w = static_cast<float>(1.0 / weight_sum);
  for (float& u : update) u *= inv_w;
  if (!momentum_.empty()) {
    const float beta = static_cast<float>(options_.momentum);
    for (size_t i = 0; i < update.size(); ++i) {
      momentum_[i] = beta * momentum_[i] + update[i];
      update[i] = momentum_[i];
    }
  }
  float scale = static_cast<float>(server_lr_at(options_, round));
  if (options_.clip > 0.0) {
    const double norm = scale * norm_of_(update);
    if (norm > options_.clip) scale *= static_cast<float>(options_.clip / norm);
  }
  for (float& u : update) u *= scale;
}

}  // namespace ferret
