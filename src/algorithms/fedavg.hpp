// defines: FedAvgAlgorithm — the baseline: the full d-length update travels both ways
#pragma once

#include "algorithms/algorithm.hpp"

namespace ferret {

class FedAvgAlgorithm final : public Algorithm {
 public:
  // payload_in_param_space: payloads and steps live with the parameters (an NCCL data plane) and
  // never pass through the host; otherwise they are host memory.
  explicit FedAvgAlgorithm(std::span<const ParamInfo> params, const ParamKernels& kernels = host_param_kernels(),
                           bool payload_in_param_space = false);
  size_t payload_size() const override { return d_; }
  void begin_round(uint32_t) override {}
  void observe_client_delta(std::span<const float>) override {}
  void agree(DataComm&, const std::vector<bool>&) override {}
  void encode(std::span<const float> delta_sum, std::span<float> payload) override;
  void apply(std::span<const float> step, std::span<float> params) override;
  double decoded_norm(std::span<const float> step) const override;
  std::span<const Block> blocks() const override { return {}; }
  std::vector<int32_t> allocation() const override { return {}; }

 private:
  size_t d_;
  const ParamKernels* kernels_;
  bool payload_in_param_space_;
};

}  // namespace ferret
