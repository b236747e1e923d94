#include "ferret/fedavg.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ferret {

FedAvgAlgorithm::FedAvgAlgorithm(std::span<const ParamInfo> params) : d_(0) {
  for (const auto& p : params) d_ += p.numel;
}

void FedAvgAlgorithm::encode(std::span<const float> delta_sum, std::span<float> payload) {
  if (delta_sum.size() != d_ || payload.size() != d_) throw std::invalid_argument("fedavg: update size mismatch");
  std::copy(delta_sum.begin(), delta_sum.end(), payload.begin());
}

void FedAvgAlgorithm::apply(std::span<const float> step, std::span<float> params) {
  if (step.size() != d_ || params.size() != d_) throw std::invalid_argument("fedavg: step size mismatch");
  for (size_t i = 0; i < d_; ++i) params[i] -= step[i];
}

double FedAvgAlgorithm::decoded_norm(std::span<const float> step) const {
  double s = 0.0;
  for (float x : step) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

}  // namespace ferret
