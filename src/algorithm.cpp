#include "ferret/algorithm.hpp"

#include "ferret/fedavg.hpp"
#include "ferret/fedkseed.hpp"
#include "ferret/ferret.hpp"

namespace ferret {

std::unique_ptr<Algorithm> make_algorithm(const Config& config, std::span<const ParamInfo> params) {
  if (config.algorithm == "fedavg") return std::make_unique<FedAvgAlgorithm>(params);
  if (config.algorithm == "fedkseed") return std::make_unique<FedKSeedAlgorithm>(config, params);
  return std::make_unique<FerretAlgorithm>(config, params);
}

}  // namespace ferret
