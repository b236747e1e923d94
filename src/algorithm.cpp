#include "ferret/algorithm.hpp"

#include "ferret/fedavg.hpp"
#include "ferret/fedkseed.hpp"
#include "ferret/ferret.hpp"

namespace ferret {

std::unique_ptr<Algorithm> make_algorithm(const Config& config, std::span<const ParamInfo> params,
                                          const ParamKernels& kernels) {
  const bool payload_in_param_space = config.data_comm == "nccl";
  if (payload_in_param_space && !kernels.device_memory())
    throw ConfigError("--data-comm = nccl needs the parameters on GPUs; allowed with --device cpu: mpi");
  if (config.algorithm == "fedavg") return std::make_unique<FedAvgAlgorithm>(params, kernels, payload_in_param_space);
  if (config.algorithm == "fedkseed") {
    // Its zeroth-order steps perturb the parameters with host loops (fedkseed.cpp).
    if (kernels.device_memory())
      throw ConfigError("--algorithm fedkseed runs on --device cpu only (allowed with cuda: ferret, fedavg)");
    return std::make_unique<FedKSeedAlgorithm>(config, params);
  }
  return std::make_unique<FerretAlgorithm>(config, params, kernels, payload_in_param_space);
}

}  // namespace ferret
