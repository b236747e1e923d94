// defines: The projection, reconstruction and basis-fill kernels and their launchers (cuda_project,
// cuda_reconstruct_add, cuda_fill_basis). The work split and the per-thread steps are in
// work_split.cuh, the entry math in basis.cuh; this file only maps CUDA's thread indices onto them.
#include <cuda_runtime.h>

#include "cuda_check.hpp"
#include "cuda/cuda_projection.hpp"
#include "work_split.cuh"

namespace ferret {
namespace cuda_detail {
namespace {

// ---- kernels ------------------------------------------------------------------------------------

// One thread per unit of kCoords coordinates, one CUDA block per tile of kThreads units.
template <Basis B>
__global__ void __launch_bounds__(kThreads)
    reconstruct_kernel(const Segment* __restrict__ segments, uint32_t n_segments, const float* __restrict__ gamma,
                       float alpha, float* __restrict__ out) {
  const Segment s = segments[find_segment(segments, n_segments, blockIdx.x)];
  const uint64_t u = static_cast<uint64_t>(blockIdx.x - s.first_cta) * kThreads + threadIdx.x;
  reconstruct_unit<B>(s, u, gamma, alpha, out);
}

// Lane 0 receives Σ over the warp's lanes, in the fixed tree of warp_tree_sum_host.
__device__ __forceinline__ double warp_sum(double v) {
FERRET_UNROLL
  for (uint32_t offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  return v;
}

// One CUDA block per (segment, chunk, k-range); see work_split.cuh for the order of the sums.
template <Basis B>
__global__ void __launch_bounds__(kThreads)
    project_kernel(const Segment* __restrict__ segments, uint32_t n_segments, const float* __restrict__ delta,
                   double* __restrict__ partial) {
  __shared__ double warp_sums[kWarps][kKRange];
  const Segment s = segments[find_segment(segments, n_segments, blockIdx.x)];
  const uint32_t local = blockIdx.x - s.first_cta;
  const uint32_t chunk = local / s.k_ranges;
  const uint32_t k0 = (local % s.k_ranges) * kKRange;
  const uint32_t k_end = min(s.k, k0 + kKRange);
  const uint32_t warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const uint64_t tile_begin = chunk * s.tiles_per_chunk;
  const uint64_t tile_end = min(tile_begin + s.tiles_per_chunk, s.tiles);
  for (uint64_t t = tile_begin; t < tile_end; ++t) {
    const uint64_t u = t * kThreads + threadIdx.x;
    float x[Unit<B>::kCoords];
    load_unit<B>(s, u, delta, x);
    for (uint32_t k = k0; k < k_end; ++k) {
      const double d = warp_sum(unit_dot<B>(s, k, u, x));
      if (lane == 0) warp_sums[warp][k - k0] = (t == tile_begin ? 0.0 : warp_sums[warp][k - k0]) + d;
    }
  }
  __syncthreads();
  for (uint32_t k = k0 + threadIdx.x; k < k_end; k += kThreads) {
    double sum = 0.0;
    for (uint32_t w = 0; w < kWarps; ++w) sum += warp_sums[w][k - k0];
    partial[s.partial_at + static_cast<uint64_t>(chunk) * s.k + k] = sum;
  }
}

// One thread per coefficient: chunk sums in chunk order, times c_l.
__global__ void finalize_kernel(const Segment* __restrict__ segments, uint32_t n_segments,
                                const double* __restrict__ partial, uint64_t gamma_size, float* __restrict__ gamma) {
  const uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= gamma_size) return;
  gamma[i] = finalize_coefficient(segments[find_segment_of_coefficient(segments, n_segments, i)], i, partial);
}

// One thread per unit overlapping [j0, j0 + n): the kernels' own entry code, written out.
template <Basis B>
__global__ void __launch_bounds__(kThreads)
    fill_kernel(BasisKey key, uint32_t k, uint64_t j0, uint64_t n, uint64_t first_unit, uint64_t units,
                float* __restrict__ out) {
  constexpr uint32_t coords = Unit<B>::kCoords;
  const uint64_t index = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= units) return;
  const uint64_t u = first_unit + index;
  float v[coords];
  unit_entries<B>(key, k, u, v);
FERRET_UNROLL
  for (uint32_t i = 0; i < coords; ++i) {
    const uint64_t j = u * coords + i;
    if (j >= j0 && j < j0 + n) out[j - j0] = v[i];
  }
}

// ---- host helpers -------------------------------------------------------------------------------

// Stream-ordered device scratch memory, freed on scope exit (also when an exception unwinds).
template <class T>
class Scratch {
 public:
  Scratch(size_t count, cudaStream_t stream) : stream_(stream) {
    if (count > 0) FERRET_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&data_), count * sizeof(T), stream_));
  }
  ~Scratch() {
    if (data_) cudaFreeAsync(data_, stream_);  // no throw from a destructor; errors resurface at the next check
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return data_; }

 private:
  T* data_ = nullptr;
  cudaStream_t stream_;
};

template <class T>
void upload(T* device, const T* host, size_t count, cudaStream_t stream) {
  if (count > 0) FERRET_CUDA_CHECK(cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
}

uint32_t grid_for(uint64_t threads) { return static_cast<uint32_t>((threads + kThreads - 1) / kThreads); }

}  // namespace
}  // namespace cuda_detail

using namespace cuda_detail;

void cuda_project(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                  const float* delta_device, uint64_t delta_size, std::span<float> gamma, CudaStream stream) {
  uint32_t ctas = 0;
  uint64_t partials = 0;
  const std::vector<Segment> segments = make_segments(Kernel::project, spec, blocks, k_per_block, delta_size,
                                                      gamma.size(), "cuda_project", "delta", &ctas, &partials);
  if (ctas == 0) return;  // no blocks, no coefficients
  Scratch<Segment> table(segments.size(), stream);
  Scratch<double> partial(partials, stream);
  Scratch<float> gamma_device(gamma.size(), stream);
  upload(table.get(), segments.data(), segments.size(), stream);
  const auto n_segments = static_cast<uint32_t>(segments.size());
  with_basis(spec.basis, [&](auto basis) {
    project_kernel<decltype(basis)::value><<<ctas, kThreads, 0, stream>>>(table.get(), n_segments, delta_device,
                                                                          partial.get());
  });
  FERRET_CUDA_CHECK(cudaGetLastError());
  finalize_kernel<<<grid_for(gamma.size()), kThreads, 0, stream>>>(table.get(), n_segments, partial.get(),
                                                                   gamma.size(), gamma_device.get());
  FERRET_CUDA_CHECK(cudaGetLastError());
  FERRET_CUDA_CHECK(cudaMemcpyAsync(gamma.data(), gamma_device.get(), gamma.size() * sizeof(float),
                                    cudaMemcpyDeviceToHost, stream));
  FERRET_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void cuda_reconstruct_add(const ProjectionSpec& spec, std::span<const Block> blocks,
                          std::span<const uint32_t> k_per_block, std::span<const float> gamma, float alpha,
                          float* out_device, uint64_t out_size, CudaStream stream) {
  uint32_t ctas = 0;
  const std::vector<Segment> segments = make_segments(Kernel::reconstruct, spec, blocks, k_per_block, out_size,
                                                      gamma.size(), "cuda_reconstruct_add", "out", &ctas, nullptr);
  if (ctas == 0) return;
  Scratch<Segment> table(segments.size(), stream);
  Scratch<float> gamma_device(gamma.size(), stream);
  upload(table.get(), segments.data(), segments.size(), stream);
  upload(gamma_device.get(), gamma.data(), gamma.size(), stream);
  const auto n_segments = static_cast<uint32_t>(segments.size());
  with_basis(spec.basis, [&](auto basis) {
    reconstruct_kernel<decltype(basis)::value><<<ctas, kThreads, 0, stream>>>(table.get(), n_segments,
                                                                              gamma_device.get(), alpha, out_device);
  });
  FERRET_CUDA_CHECK(cudaGetLastError());
  FERRET_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void cuda_fill_basis(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint32_t k, uint64_t j0,
                     uint64_t block_size, float* out_device, uint64_t n, CudaStream stream) {
  check_fill_range(basis, j0, n, block_size);
  if (n == 0) return;
  const BasisKey key = basis_key(basis, seed, round, block, block_size);
  const uint64_t coords = unit_coords(basis);
  const uint64_t first_unit = j0 / coords, units = (j0 + n - 1) / coords - first_unit + 1;
  with_basis(basis, [&](auto b) {
    fill_kernel<decltype(b)::value><<<grid_for(units), kThreads, 0, stream>>>(key, k, j0, n, first_unit, units,
                                                                              out_device);
  });
  FERRET_CUDA_CHECK(cudaGetLastError());
  FERRET_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace ferret
