// defines: the implementation of algorithm.hpp
#include "algorithms/algorithm.hpp"

#include "algorithms/fedavg.hpp"
#include "algorithms/fedkseed.hpp"
#include "algorithms/ferret.hpp"

#include <stdexcept>

namespace ferret {

double Algorithm::train_zeroth_order(const ZerothOrderModel&, uint32_t, uint32_t, std::span<float>) const {
  throw std::logic_error("train_zeroth_order: this algorithm trains with gradients (zeroth_order() is false)");
}

std::unique_ptr<Algorithm> make_algorithm(const Config& config, std::span<const ParamInfo> params,
                                          const ParamKernels& kernels) {
  const bool payload_in_param_space = config.data_comm == DataPlane::nccl;
  if (payload_in_param_space && !kernels.device_memory())
    throw ConfigError("--data-comm = nccl needs the parameters on GPUs; allowed with --device cpu: mpi");
  if (config.algorithm == AlgorithmKind::fedavg) return std::make_unique<FedAvgAlgorithm>(params, kernels, payload_in_param_space);
  if (config.algorithm == AlgorithmKind::fedkseed) {
    // Its zeroth-order steps perturb the parameters with host loops (algorithms/fedkseed.cpp).
    if (kernels.device_memory())
      throw ConfigError("--algorithm fedkseed runs on --device cpu only (allowed with cuda: ferret, fedavg)");
    return std::make_unique<FedKSeedAlgorithm>(config, params);
  }
  return std::make_unique<FerretAlgorithm>(config, params, kernels, payload_in_param_space);
}

}  // namespace ferret
