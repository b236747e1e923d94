// defines: FerretAlgorithm — Ferret's encode/decode: block-wise random projection with shared bases
//
// Per round r the parameters are split into blocks l (projection.hpp, make_blocks) and the K
// coefficients into K_l per block (--allocation). A rank's upload is γ_l = c_l V_lᵀ Δ_l for every
// block (c_l = 1/(K_l σ_l²), unbiased), with the bases V_l generated from (seed, r, l) on every
// rank, so nothing but the K floats travels. The server's step s is decoded by every rank as
// Δ̃_l = V_l s_l and applied as w_l ← w_l − Δ̃_l.
// --allocation norm (the paper's best, K_l ∝ ‖Δ_l‖) needs the participating clients' block norms:
// every sender contributes Σ_i ‖Δ_{i,l}‖² over its clients, reduced to rank 0 and broadcast (L
// floats each way), so every rank computes the same K_l.
#pragma once

#include "algorithms/algorithm.hpp"
#include "random/basis.hpp"

namespace ferret {

class FerretAlgorithm final : public Algorithm {
 public:
  // payload_in_param_space: the K coefficients travel in device memory (an NCCL data plane); the
  // projection kernels still produce them on the host, so they are copied over (K floats).
  FerretAlgorithm(const Config& config, std::span<const ParamInfo> params,
                  const ParamKernels& kernels = host_param_kernels(), bool payload_in_param_space = false);
  size_t payload_size() const override { return k_; }
  void begin_round(uint32_t round) override;
  void observe_client_delta(std::span<const float> delta) override;
  void agree(DataComm& control, const std::vector<bool>& senders) override;
  void encode(std::span<const float> delta_sum, std::span<float> payload) override;
  void apply(std::span<const float> step, std::span<float> params) override;
  double decoded_norm(std::span<const float> step) const override;
  std::span<const Block> blocks() const override { return blocks_; }
  std::vector<int32_t> allocation() const override;
  // Replay: impose a recorded round's K_l instead of agreeing on them.
  void set_allocation(std::span<const int32_t> k_per_block);

 private:
  ProjectionSpec spec() const { return {basis_, seed_, round_}; }

  const ParamKernels* kernels_;
  bool payload_in_param_space_;
  std::vector<float> host_coefficients_;  // staging of the K coefficients when they live on the device
  uint32_t k_;
  Basis basis_;
  Allocation policy_;
  uint64_t seed_;
  uint32_t round_ = 0;
  std::vector<Block> blocks_;
  std::vector<uint32_t> k_per_block_;
  std::vector<double> block_sq_norms_;  // Σ over this rank's clients of ‖Δ_{i,l}‖², this round
};

}  // namespace ferret
