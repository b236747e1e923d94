// defines: the implementation of fedavg.hpp
#include "algorithms/fedavg.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ferret {

FedAvgAlgorithm::FedAvgAlgorithm(std::span<const ParamInfo> params, const ParamKernels& kernels,
                                 bool payload_in_param_space)
    : d_(0), kernels_(&kernels), payload_in_param_space_(payload_in_param_space) {
  for (const auto& p : params) d_ += p.numel;
}

void FedAvgAlgorithm::encode(std::span<const float> delta_sum, std::span<float> payload) {
  if (delta_sum.size() != d_ || payload.size() != d_) throw std::invalid_argument("fedavg: update size mismatch");
  if (payload_in_param_space_) kernels_->copy(delta_sum, payload);
  else kernels_->copy_to_host(delta_sum, payload);
}

void FedAvgAlgorithm::apply(std::span<const float> step, std::span<float> params) {
  if (step.size() != d_ || params.size() != d_) throw std::invalid_argument("fedavg: step size mismatch");
  // fma(−1, s, w) = w − s exactly, as a plain subtraction would give.
  if (payload_in_param_space_) kernels_->add(-1.0f, step, params);
  else kernels_->add_from_host(-1.0f, step, params);
}

double FedAvgAlgorithm::decoded_norm(std::span<const float> step) const {
  double s = 0.0;
  for (float x : step) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

}  // namespace ferret
