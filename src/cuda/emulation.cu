// defines: Host emulation of the kernels in projection.cu: the same segments, units, per-thread steps
// (work_split.cuh) and reduction order, run sequentially. It exists so that the CUDA port (the
// entry math, the index mapping, the sums) is checked against the CPU functions on machines
// without a GPU, and so that a GPU's results can be compared with it bit for bit.
#include <vector>

#include "cuda/cuda_projection.hpp"
#include "work_split.cuh"

namespace ferret {
namespace cuda_detail {
namespace {

template <Basis B>
void reconstruct_emulated(const std::vector<Segment>& segments, const float* gamma, float alpha, float* out) {
  for (const Segment& s : segments)
    for (uint64_t u = 0; u < s.tiles * kThreads; ++u) reconstruct_unit<B>(s, u, gamma, alpha, out);
}

// One CUDA block of project_kernel: its tiles, threads, warps and k's in the kernel's order.
template <Basis B>
void project_block_emulated(const Segment& s, uint32_t chunk, uint32_t range, const float* delta, double* partial) {
  constexpr uint32_t coords = Unit<B>::kCoords;
  const uint32_t k0 = range * kKRange, k_end = std::min(s.k, k0 + kKRange);
  const uint64_t tile_begin = chunk * s.tiles_per_chunk;
  const uint64_t tile_end = std::min(tile_begin + s.tiles_per_chunk, s.tiles);
  std::vector<double> warp_sums(static_cast<size_t>(kWarps) * kKRange);
  struct Registers {
    float x[coords];
  };
  std::vector<Registers> threads(kThreads);  // each thread's Δ values of the current tile
  for (uint64_t t = tile_begin; t < tile_end; ++t) {
    for (uint32_t thread = 0; thread < kThreads; ++thread) load_unit<B>(s, t * kThreads + thread, delta, threads[thread].x);
    for (uint32_t k = k0; k < k_end; ++k)
      for (uint32_t warp = 0; warp < kWarps; ++warp) {
        double lane[32];
        for (uint32_t l = 0; l < 32; ++l) {
          const uint32_t thread = warp * 32 + l;
          lane[l] = unit_dot<B>(s, k, t * kThreads + thread, threads[thread].x);
        }
        const double d = warp_tree_sum_host(lane);
        double& acc = warp_sums[warp * kKRange + (k - k0)];
        acc = (t == tile_begin ? 0.0 : acc) + d;
      }
  }
  for (uint32_t k = k0; k < k_end; ++k) {
    double sum = 0.0;
    for (uint32_t w = 0; w < kWarps; ++w) sum += warp_sums[w * kKRange + (k - k0)];
    partial[s.partial_at + static_cast<uint64_t>(chunk) * s.k + k] = sum;
  }
}

template <Basis B>
void project_emulated(const std::vector<Segment>& segments, const float* delta, double* partial) {
  for (const Segment& s : segments)
    for (uint32_t chunk = 0; chunk < s.chunks; ++chunk)
      for (uint32_t range = 0; range < s.k_ranges; ++range) project_block_emulated<B>(s, chunk, range, delta, partial);
}

}  // namespace
}  // namespace cuda_detail

using namespace cuda_detail;

void cuda_project_emulated(const ProjectionSpec& spec, std::span<const Block> blocks,
                           std::span<const uint32_t> k_per_block, std::span<const float> delta,
                           std::span<float> gamma) {
  uint32_t ctas = 0;
  uint64_t partials = 0;
  const std::vector<Segment> segments = make_segments(Kernel::project, spec, blocks, k_per_block, delta.size(),
                                                      gamma.size(), "cuda_project", "delta", &ctas, &partials);
  std::vector<double> partial(partials);
  with_basis(spec.basis,
             [&](auto b) { project_emulated<decltype(b)::value>(segments, delta.data(), partial.data()); });
  for (const Segment& s : segments)
    for (uint64_t i = s.gamma_at; i < s.gamma_at + s.k; ++i) gamma[i] = finalize_coefficient(s, i, partial.data());
}

void cuda_reconstruct_add_emulated(const ProjectionSpec& spec, std::span<const Block> blocks,
                                   std::span<const uint32_t> k_per_block, std::span<const float> gamma, float alpha,
                                   std::span<float> out) {
  uint32_t ctas = 0;
  const std::vector<Segment> segments = make_segments(Kernel::reconstruct, spec, blocks, k_per_block, out.size(),
                                                      gamma.size(), "cuda_reconstruct_add", "out", &ctas, nullptr);
  with_basis(spec.basis,
             [&](auto b) { reconstruct_emulated<decltype(b)::value>(segments, gamma.data(), alpha, out.data()); });
}

void cuda_fill_basis_emulated(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint32_t k, uint64_t j0,
                              uint64_t block_size, std::span<float> out) {
  check_fill_range(basis, j0, out.size(), block_size);
  if (out.empty()) return;
  const BasisKey key = basis_key(basis, seed, round, block, block_size);
  with_basis(basis, [&](auto b) {
    constexpr Basis kBasis = decltype(b)::value;
    constexpr uint32_t coords = Unit<kBasis>::kCoords;
    const uint64_t end = j0 + out.size();
    for (uint64_t u = j0 / coords; u * coords < end; ++u) {
      float v[coords];
      unit_entries<kBasis>(key, k, u, v);
      for (uint32_t i = 0; i < coords; ++i) {
        const uint64_t j = u * coords + i;
        if (j >= j0 && j < end) out[j - j0] = v[i];
      }
    }
  });
}

}  // namespace ferret
