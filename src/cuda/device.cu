// defines: Device discovery and selection: cuda_available, cuda_local_rank, select_cuda_device, and what
// identifies a device (cuda_device_pci_id, cuda_device_name).
// Compiled by nvcc so that __CUDA_ARCH_LIST__ tells which architectures the kernels were built for.
#include <cuda_runtime.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "cuda_check.hpp"
#include "cuda/cuda_projection.hpp"

namespace ferret {
namespace {

// The oldest architecture the kernels were compiled for, as major·100 + minor·10 (900 = sm_90).
// Kernels built with PTX for it also run, JIT-compiled, on every newer device.
constexpr int oldest_built_arch() {
  constexpr int archs[] = {__CUDA_ARCH_LIST__};
  int oldest = archs[0];
  for (int a : archs) oldest = std::min(oldest, a);
  return oldest;
}

std::string cuda_error_text(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

// Empty if device `d` can run the kernels, else why not. Reads attributes only: no context.
std::string device_problem(int d) {
  int major = 0, minor = 0;
  cudaError_t err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d);
  if (err != cudaSuccess) return "cudaDeviceGetAttribute(device " + std::to_string(d) + ") failed: " + cuda_error_text(err);
  if (major * 100 + minor * 10 < oldest_built_arch())
    return "device " + std::to_string(d) + " is sm_" + std::to_string(major) + std::to_string(minor) +
           ", older than the sm_" + std::to_string(oldest_built_arch() / 10) +
           " ferret's kernels were built for (set CMAKE_CUDA_ARCHITECTURES)";
  return {};
}

}  // namespace

bool cuda_available(std::string* why) {
  const auto fail = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess)
    return fail("cudaGetDeviceCount failed: " + cuda_error_text(err) + " (no NVIDIA driver or GPU on this machine?)");
  if (count == 0) return fail("no CUDA device visible (check CUDA_VISIBLE_DEVICES)");
  for (int d = 0; d < count; ++d)
    if (std::string problem = device_problem(d); !problem.empty()) return fail(problem);
  return true;
}

int cuda_local_rank() {
  for (const char* name : {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCAL_RANK"}) {
    const char* value = std::getenv(name);
    if (!value) continue;
    const std::string text(value);
    int rank = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rank);
    if (ec != std::errc() || end != text.data() + text.size() || rank < 0)
      throw std::runtime_error(std::string("cuda_local_rank: ") + name + " = '" + text +
                               "' is not a local rank; allowed: an integer >= 0");
    return rank;
  }
  return 0;
}

int select_cuda_device() {
  std::string why;
  if (!cuda_available(&why)) throw std::runtime_error("select_cuda_device: " + why);
  int count = 0;
  FERRET_CUDA_CHECK(cudaGetDeviceCount(&count));
  const int device = cuda_local_rank() % count;
  FERRET_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

std::string cuda_device_pci_id(int device) {
  char id[64] = {};
  FERRET_CUDA_CHECK(cudaDeviceGetPCIBusId(id, sizeof id, device));
  return id;
}

std::string cuda_device_name(int device) {
  cudaDeviceProp prop{};
  FERRET_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

}  // namespace ferret
