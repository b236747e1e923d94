// defines: CudaParamKernels: param_kernels.hpp's operations on device memory, for `--device cuda` runs.
// Projection and reconstruction are cuda_project / cuda_reconstruct_add; the small vector
// operations FedAvg and the round loop need are here. Everything runs on the legacy default stream
// (ordered with LibTorch's default stream) and returns with its result complete.
#include <cuda_runtime.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "cuda_check.hpp"
#include "cuda/cuda_projection.hpp"

namespace ferret {
namespace {

constexpr uint32_t kNormThreads = 256;
constexpr uint64_t kNormMaxCtas = 1024;

// partial[cta] = Σ over this CTA's grid-stride share of x[j]², in double, reduced in a fixed tree:
// with the grid a function of n alone, the result is the same bits on every run and every GPU.
__global__ void __launch_bounds__(kNormThreads) sq_norm_partials(const float* __restrict__ x, uint64_t n,
                                                                double* __restrict__ partial) {
  __shared__ double sums[kNormThreads];
  double s = 0.0;
  for (uint64_t j = blockIdx.x * uint64_t{kNormThreads} + threadIdx.x; j < n; j += uint64_t{gridDim.x} * kNormThreads) {
    const double v = x[j];
    s = __fma_rn(v, v, s);
  }
  sums[threadIdx.x] = s;
  __syncthreads();
  for (uint32_t half = kNormThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) sums[threadIdx.x] = __dadd_rn(sums[threadIdx.x], sums[threadIdx.x + half]);
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = sums[0];
}

__global__ void axpy_kernel(float alpha, const float* __restrict__ x, float* __restrict__ y, uint64_t n) {
  for (uint64_t i = blockIdx.x * uint64_t{blockDim.x} + threadIdx.x; i < n; i += uint64_t{gridDim.x} * blockDim.x)
    y[i] = __fmaf_rn(alpha, x[i], y[i]);
}

uint32_t norm_ctas(uint64_t n) {
  return static_cast<uint32_t>(std::min<uint64_t>(kNormMaxCtas, std::max<uint64_t>(1, (n + kNormThreads - 1) / kNormThreads)));
}

// A grow-only device buffer (cudaMalloc per call would cost more than FedAvg's copy itself).
class DeviceBuffer {
 public:
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void* get(size_t bytes) {
    if (bytes > bytes_) {
      if (ptr_) FERRET_CUDA_CHECK(cudaFree(ptr_));
      ptr_ = nullptr;
      bytes_ = 0;
      FERRET_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
      bytes_ = bytes;
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class CudaParamKernels final : public ParamKernels {
 public:
  bool device_memory() const override { return true; }

  void project(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
               std::span<const float> delta, std::span<float> gamma) const override {
    cuda_project(spec, blocks, k_per_block, delta.data(), delta.size(), gamma);
  }

  void reconstruct_add(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                       std::span<const float> gamma, float alpha, std::span<float> out) const override {
    cuda_reconstruct_add(spec, blocks, k_per_block, gamma, alpha, out.data(), out.size());
  }

  std::vector<double> block_sq_norms(std::span<const Block> blocks, std::span<const float> x) const override {
    check_blocks(blocks, x.size(), "block_sq_norms", "delta");  // as the host's, message included
    uint64_t total_ctas = 0;
    for (const Block& b : blocks) total_ctas += norm_ctas(b.size);
    std::vector<double> sums(blocks.size(), 0.0);
    if (total_ctas == 0) return sums;
    auto* partial = static_cast<double*>(scratch_.get(total_ctas * sizeof(double)));
    uint64_t at = 0;
    for (const Block& b : blocks) {
      const uint32_t ctas = norm_ctas(b.size);
      sq_norm_partials<<<ctas, kNormThreads>>>(x.data() + b.offset, b.size, partial + at);
      FERRET_CUDA_CHECK(cudaGetLastError());
      at += ctas;
    }
    std::vector<double> host(total_ctas);
    FERRET_CUDA_CHECK(cudaMemcpy(host.data(), partial, total_ctas * sizeof(double), cudaMemcpyDeviceToHost));
    at = 0;
    for (size_t l = 0; l < blocks.size(); ++l)
      for (uint32_t c = 0, ctas = norm_ctas(blocks[l].size); c < ctas; ++c) sums[l] += host[at++];
    return sums;
  }

  void copy_to_host(std::span<const float> x, std::span<float> host) const override {
    check_same_size("copy_to_host", x.size(), host.size());
    if (x.empty()) return;
    FERRET_CUDA_CHECK(cudaMemcpy(host.data(), x.data(), x.size_bytes(), cudaMemcpyDeviceToHost));
  }

  void copy_from_host(std::span<const float> host, std::span<float> x) const override {
    check_same_size("copy_from_host", host.size(), x.size());
    if (x.empty()) return;
    FERRET_CUDA_CHECK(cudaMemcpy(x.data(), host.data(), x.size_bytes(), cudaMemcpyHostToDevice));
  }

  void copy(std::span<const float> x, std::span<float> y) const override {
    check_same_size("copy", x.size(), y.size());
    if (x.empty()) return;
    FERRET_CUDA_CHECK(cudaMemcpy(y.data(), x.data(), x.size_bytes(), cudaMemcpyDeviceToDevice));
    FERRET_CUDA_CHECK(cudaDeviceSynchronize());  // a device-to-device cudaMemcpy may return early
  }

  void add_from_host(float alpha, std::span<const float> host, std::span<float> y) const override {
    check_same_size("add_from_host", host.size(), y.size());
    if (y.empty()) return;
    auto* x = static_cast<float*>(scratch_.get(host.size_bytes()));
    FERRET_CUDA_CHECK(cudaMemcpy(x, host.data(), host.size_bytes(), cudaMemcpyHostToDevice));
    add(alpha, std::span<const float>(x, host.size()), y);
  }

  void add(float alpha, std::span<const float> x, std::span<float> y) const override {
    check_same_size("add", x.size(), y.size());
    if (y.empty()) return;
    const auto grid = static_cast<uint32_t>(std::min<uint64_t>(65535, (y.size() + 255) / 256));
    axpy_kernel<<<grid, 256>>>(alpha, x.data(), y.data(), y.size());
    FERRET_CUDA_CHECK(cudaGetLastError());
    FERRET_CUDA_CHECK(cudaDeviceSynchronize());
  }

 private:
  mutable DeviceBuffer scratch_;  // staging for add_from_host, partial sums for block_sq_norms
};

}  // namespace

std::unique_ptr<ParamKernels> make_cuda_param_kernels() { return std::make_unique<CudaParamKernels>(); }

}  // namespace ferret
