// defines: the implementation of compute_device.hpp
#include "federated/compute_device.hpp"

#include <unistd.h>

#include <cstdlib>

#if FERRET_HAVE_CUDA
#include "cuda/cuda_projection.hpp"
#endif

namespace ferret {

bool built_with_cuda() {
#if FERRET_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

ComputeDevice open_compute_device(const Config& c) {
  ComputeDevice out;
  if (c.device == DeviceKind::cpu) {
    out.description = "cpu, " + std::to_string(c.threads) + " thread(s) per rank";
    return out;
  }
#if FERRET_HAVE_CUDA
  std::string why;
  if (!cuda_available(&why)) throw ConfigError("--device = cuda is unusable here: " + why + " (allowed here: cpu)");
  // cuBLAS is deterministic only with a fixed workspace, which must be set before it starts;
  // a value the user exported wins.
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  const int index = select_cuda_device();
  if (!torch::cuda::is_available())
    throw ConfigError("--device = cuda: the CUDA runtime sees a GPU but LibTorch does not (a CPU-only torch "
                      "build?); allowed here: cpu");
  // Same seed ⇒ same bits: an operation without a deterministic CUDA kernel throws instead of
  // silently using atomics.
  at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  out.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  out.owned_kernels = make_cuda_param_kernels();
  out.kernels = out.owned_kernels.get();
  const std::string pci = cuda_device_pci_id(index);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  out.gpu_identity = std::string(host) + "/" + pci;
  out.description = "cuda:" + std::to_string(index) + " " + cuda_device_name(index) + " (PCI " + pci + ", local rank " +
                    std::to_string(cuda_local_rank()) + ")";
  return out;
#else
  throw ConfigError("--device = cuda: this ferret was built without CUDA (nvcc not found when CMake ran, or "
                    "-DFERRET_CUDA=OFF); allowed: cpu");
#endif
}

}  // namespace ferret
