// defines: ferret-bench-cuda: throughput of cuda_project and cuda_reconstruct_add on the current GPU
// (prints numbers; no assertions; needs a GPU).
//
//   ferret-bench-cuda [d ...]      default d = 10000000 100000000; K = 256, 1024; L = 8; every basis
//
// The d coordinates are cut into L = 8 equal blocks and K is split evenly (allocate_k, uniform).
// "basis elem/s" counts generated basis entries (Σ_l d_l K_l per call), the measure the kernels are
// bound by; "vector GB/s" is the d-vector traffic (project reads Δ; reconstruct reads and writes
// out) per second, shown next to the device's memory bandwidth to make plain that the kernels are
// compute-bound (Philox + transform per entry), not bandwidth-bound. Best of 3 after a warm-up.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuda_check.hpp"
#include "cuda/cuda_projection.hpp"

namespace {

using ferret::Basis;

// Peak DRAM bandwidth from the device attributes: 2 transfers per clock (DDR) × bus width.
double peak_bandwidth_gbs(int device) {
  int clock_khz = 0, bus_bits = 0;
  FERRET_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device));
  FERRET_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device));
  return 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
}

template <class F>
double best_of_3(F&& f) {
  f();  // warm-up: module load, memory pool growth
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();  // the functions synchronize their stream before returning
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Deterministic test data in [-0.5, 0.5), written on the device (no host copy of d floats).
__global__ void fill_pattern(float* x, uint64_t n) {
  for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<uint64_t>(gridDim.x) * blockDim.x)
    x[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
}

void run(uint64_t d, uint32_t K, Basis basis, double peak_gbs) {
  constexpr uint32_t L = 8;
  std::vector<ferret::Block> blocks;
  for (uint32_t l = 0; l < L; ++l) {
    const uint64_t begin = d * l / L, end = d * (l + 1) / L;
    blocks.push_back({"block" + std::to_string(l), begin, end - begin});
  }
  const auto k_per_block = ferret::allocate_k(K, blocks, ferret::Allocation::uniform, {});
  float* delta = nullptr;
  float* out = nullptr;
  FERRET_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&delta), d * sizeof(float)));
  FERRET_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&out), d * sizeof(float)));
  fill_pattern<<<1024, 256>>>(delta, d);
  FERRET_CUDA_CHECK(cudaMemset(out, 0, d * sizeof(float)));
  FERRET_CUDA_CHECK(cudaDeviceSynchronize());

  const ferret::ProjectionSpec spec{basis, 42, 1};
  std::vector<float> gamma(K);
  double elements = 0;
  for (size_t l = 0; l < blocks.size(); ++l) elements += static_cast<double>(blocks[l].size) * k_per_block[l];
  const double t_project = best_of_3([&] { ferret::cuda_project(spec, blocks, k_per_block, delta, d, gamma); });
  const double t_reconstruct =
      best_of_3([&] { ferret::cuda_reconstruct_add(spec, blocks, k_per_block, gamma, 1e-3f, out, d); });
  const std::string name(ferret::to_string(basis));
  const auto line = [&](const char* what, double seconds, double bytes) {
    const double gbs = bytes / seconds / 1e9;
    std::printf("%-16s basis=%-11s d=%-10llu K=%-5u L=%u  %9.5f s  %9.3e basis elem/s  %8.2f vector GB/s (%5.2f%% of %.0f)\n",
                what, name.c_str(), static_cast<unsigned long long>(d), K, L, seconds, elements / seconds, gbs,
                100.0 * gbs / peak_gbs, peak_gbs);
  };
  line("cuda_project", t_project, 4.0 * static_cast<double>(d));
  line("cuda_reconstruct", t_reconstruct, 8.0 * static_cast<double>(d));
  cudaFree(delta);
  cudaFree(out);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int device = ferret::select_cuda_device();
    cudaDeviceProp prop{};
    FERRET_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    const double peak = peak_bandwidth_gbs(device);
    std::printf("device %d: %s, sm_%d%d, %d SMs, %.1f GiB, peak memory bandwidth %.0f GB/s\n", device, prop.name,
                prop.major, prop.minor, prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0, peak);
    std::vector<uint64_t> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
    if (sizes.empty()) sizes = {10'000'000, 100'000'000};
    for (uint64_t d : sizes)
      for (uint32_t K : {256u, 1024u})
        for (Basis basis : {Basis::rademacher, Basis::gaussian, Basis::truncnormal}) run(d, K, basis, peak);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferret-bench-cuda: %s\n", e.what());
    return 1;
  }
  return 0;
}
