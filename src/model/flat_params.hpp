// defines: FlatParams — the model's trainable parameters as views into one contiguous vector
//
// Projection, reconstruction, checksums, FedAvg and checkpoints all work on float spans over the
// whole model; keeping every parameter a view of one flat tensor makes "the model" such a span
// with no copies. Blocks are ranges of this vector, in named_parameters() order.
#pragma once

#include <torch/torch.h>

#include <span>
#include <string>
#include <vector>

#include "projection/projection.hpp"

namespace ferret {

struct FlatParams {
  torch::Tensor flat;                         // (d,) float32, contiguous
  std::vector<ParamInfo> infos;               // name and size of each parameter, in flat order
  std::vector<std::vector<int64_t>> shapes;   // shape of each parameter

  // The vector in its own memory: host, or device pointers on a --device cuda run (param_kernels.hpp).
  std::span<float> span() { return {flat.data_ptr<float>(), static_cast<size_t>(flat.numel())}; }
  std::span<const float> span() const { return {flat.data_ptr<float>(), static_cast<size_t>(flat.numel())}; }
  size_t size() const { return static_cast<size_t>(flat.numel()); }
  // The values in host memory: `flat` itself on the CPU, a copy of it otherwise.
  torch::Tensor on_host() const { return flat.is_cpu() ? flat : flat.to(torch::kCPU); }
};

// Moves every parameter of `module` into one flat tensor on the parameters' device (values kept)
// and rebinds the parameters as views of it. Call after module.to(device), before any optimizer.
FlatParams flatten_parameters(torch::nn::Module& module);

}  // namespace ferret
