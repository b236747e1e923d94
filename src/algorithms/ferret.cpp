// defines: the implementation of ferret.hpp
#include "algorithms/ferret.hpp"

#include <cmath>
#include <stdexcept>

namespace ferret {

FerretAlgorithm::FerretAlgorithm(const Config& config, std::span<const ParamInfo> params, const ParamKernels& kernels,
                                 bool payload_in_param_space)
    : kernels_(&kernels),
      payload_in_param_space_(payload_in_param_space),
      k_(static_cast<uint32_t>(config.k)),
      basis_(config.basis),
      policy_(config.allocation),
      seed_(config.seed),
      blocks_(make_blocks(params)) {
  if (k_ < blocks_.size())
    throw ConfigError("--k = " + std::to_string(k_) + " is invalid: allowed >= the number of parameter blocks (" +
                      std::to_string(blocks_.size()) + "), since every block gets at least one coefficient");
  block_sq_norms_.assign(blocks_.size(), 0.0);
  // uniform and size do not depend on the round: fix them once.
  if (policy_ != Allocation::norm) k_per_block_ = allocate_k(k_, blocks_, policy_, block_sq_norms_);
}

void FerretAlgorithm::begin_round(uint32_t round) {
  round_ = round;
  std::fill(block_sq_norms_.begin(), block_sq_norms_.end(), 0.0);
}

void FerretAlgorithm::observe_client_delta(std::span<const float> delta) {
  if (policy_ != Allocation::norm) return;
  const auto sq = kernels_->block_sq_norms(blocks_, delta);
  for (size_t l = 0; l < sq.size(); ++l) block_sq_norms_[l] += sq[l];
}

void FerretAlgorithm::agree(DataComm& control, const std::vector<bool>& senders) {
  if (policy_ != Allocation::norm) return;
  std::vector<float> sums(block_sq_norms_.begin(), block_sq_norms_.end());
  control.reduce_sum_to_root(sums, senders);
  control.broadcast_from_root(sums);  // identical floats on every rank ⇒ identical K_l
  std::vector<double> total(sums.begin(), sums.end());
  k_per_block_ = allocate_k(k_, blocks_, policy_, total);
}

void FerretAlgorithm::encode(std::span<const float> delta_sum, std::span<float> payload) {
  if (!payload_in_param_space_) {
    kernels_->project(spec(), blocks_, k_per_block_, delta_sum, payload);
    return;
  }
  host_coefficients_.resize(payload.size());
  kernels_->project(spec(), blocks_, k_per_block_, delta_sum, host_coefficients_);
  kernels_->copy_from_host(host_coefficients_, payload);
}

void FerretAlgorithm::apply(std::span<const float> step, std::span<float> params) {
  std::span<const float> coefficients = step;
  if (payload_in_param_space_) {
    host_coefficients_.resize(step.size());
    kernels_->copy_to_host(step, host_coefficients_);
    coefficients = host_coefficients_;
  }
  kernels_->reconstruct_add(spec(), blocks_, k_per_block_, coefficients, /*alpha=*/-1.0f, params);
}

double FerretAlgorithm::decoded_norm(std::span<const float> step) const {
  // E‖V_l s_l‖² = Σ_k s_k² E‖v_k‖² = d_l σ_l² ‖s_l‖² (the bases' cross terms have mean zero).
  double total = 0.0;
  size_t offset = 0;
  for (size_t l = 0; l < blocks_.size(); ++l) {
    double sq = 0.0;
    for (uint32_t k = 0; k < k_per_block_[l]; ++k) sq += static_cast<double>(step[offset + k]) * step[offset + k];
    total += static_cast<double>(blocks_[l].size) * basis_variance(basis_, blocks_[l].size) * sq;
    offset += k_per_block_[l];
  }
  return std::sqrt(total);
}

void FerretAlgorithm::set_allocation(std::span<const int32_t> k_per_block) {
  if (k_per_block.size() != blocks_.size())
    throw std::invalid_argument("ferret: allocation has " + std::to_string(k_per_block.size()) + " blocks, the model " +
                                std::to_string(blocks_.size()));
  k_per_block_.assign(k_per_block.begin(), k_per_block.end());
}

std::vector<int32_t> FerretAlgorithm::allocation() const {
  return {k_per_block_.begin(), k_per_block_.end()};
}

}  // namespace ferret
