// defines: ComputeDevice, open_compute_device — where a rank's model and parameter vectors live
//
// --device cpu: host memory, projection.hpp's kernels. --device cuda: the rank's GPU (the
// node-local rank modulo the visible GPUs, cuda_projection.hpp: select_cuda_device), the CUDA
// kernels of src/cuda/ behind param_kernels.hpp, and LibTorch in deterministic mode (cuBLAS with a
// fixed workspace, no atomics-based kernels) so that a seed still gives the same model bits.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "config/config.hpp"
#include "projection/param_kernels.hpp"

namespace ferret {

struct ComputeDevice {
  torch::Device device{torch::kCPU};
  const ParamKernels* kernels = &host_param_kernels();
  std::unique_ptr<ParamKernels> owned_kernels;  // the device's kernels (null on the CPU)
  std::string description;                      // one line for the log
  std::string gpu_identity;                     // host name and PCI address of the GPU ("" on the CPU)
};

// Opens --device for this rank. Throws ConfigError naming the value and the reason when it cannot
// be used: a build without CUDA, no driver or GPU, a GPU the kernels were not built for, or a
// LibTorch without CUDA.
ComputeDevice open_compute_device(const Config& config);

// True when this build has the CUDA path (ferret_cuda was linked in).
bool built_with_cuda();

}  // namespace ferret
