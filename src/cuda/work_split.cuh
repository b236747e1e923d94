// defines: the GPU work split of projection and reconstruction (Segment, make_segments, the launch
//          constants) and the per-thread / per-coefficient steps shared by the kernels
//          (projection.cu) and their host emulation (emulation.cu): reconstruct_unit, unit_dot,
//          warp_tree_sum_host, finalize_coefficient.
//
// Reconstruction (out[block l] += alpha · V_l γ_l): thread = one unit of kCoords consecutive
// coordinates of one block (basis.cuh). It loops over k = 0 .. K_l − 1, regenerating its entries of
// v_k and accumulating acc[i] = fma(γ_k, v_k[i], acc[i]) in registers (γ_k = 0 skipped), then
// writes out[i] = fma(alpha, acc[i], out[i]) once; rademacher instead starts from S = Σ_k γ_k and
// subtracts 2γ_k where the entry is −1 (the contract of the CPU's fused kernels, rademacher.hpp).
// That is projection.cpp's sequence for each coordinate, so the result is bitwise equal to
// reconstruct_add. Δ / out are touched once; the cost is regenerating d_l·K_l
// entries, which makes the kernel compute-bound (Philox + transform), not memory-bound.
//
// Projection (γ_l = c_l V_lᵀ Δ_l): a CUDA block (kThreads threads) handles one (block l, chunk,
// k-range). A chunk is a run of tiles (tile = kThreads units); the chunking is a function of d_l
// only, never of the GPU, so every GPU gives the same bits. Per tile each thread loads its Δ values
// into registers once, then for each k of the range computes its partial dot product (4 float
// chains i % 4, combined in double), the warp reduces it with a fixed shuffle tree in double, and
// lane 0 accumulates it, tile after tile, in shared memory per (warp, k). At the end the warps'
// sums are added in warp order -> partial[chunk][k] (double). A finalize kernel sums a block's
// chunks in chunk order and scales by c_l = 1/(K_l σ_l²). The order is fixed, so results are
// deterministic; they differ from the CPU's project only by summation order (≈ 1e-7 relative).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "basis.cuh"
#include "projection/projection.hpp"

namespace ferret::cuda_detail {

constexpr uint32_t kThreads = 256;  // threads per CUDA block, both kernels
constexpr uint32_t kWarps = kThreads / 32;
constexpr uint32_t kKRange = 256;  // project: coefficients per CUDA block (shared memory 8·kWarps·kKRange B)
// project: chunks per block at most. Bounds the partial sums to 1024·K_l doubles per block; below
// 1024 tiles (d_l ≤ 16.7M rademacher, 2.1M otherwise) every tile is its own chunk.
constexpr uint64_t kMaxChunksPerBlock = 1024;

// One block of the flat vector as the kernels see it.
struct Segment {
  uint64_t offset, size;    // coordinates [offset, offset + size) of the flat vector
  uint64_t gamma_at;        // index of its first coefficient in gamma
  uint64_t partial_at;      // project: index of its first partial sum (chunks · K_l of them)
  uint64_t tiles;           // ceil(units / kThreads), units = ceil(size / kCoords)
  uint64_t tiles_per_chunk; // project
  uint32_t chunks;          // project: chunks of the block
  uint32_t k_ranges;        // project: ceil(K_l / kKRange)
  uint32_t k;               // K_l
  uint32_t first_cta;       // first CUDA block of this segment in the launch
  double scale;             // c_l = 1/(K_l σ_l²)
  BasisKey key;
};

enum class Kernel { project, reconstruct };

// Coordinates per unit of a basis (a runtime copy of Unit<B>::kCoords).
uint32_t unit_coords(Basis basis);

// Validates like project / reconstruct_add (std::invalid_argument naming the sizes) and builds the
// segments of one launch; *ctas receives the number of CUDA blocks, *partials the partial sums
// (project). `what` names the calling function in messages, `vector_name` the d-length vector.
std::vector<Segment> make_segments(Kernel kernel, const ProjectionSpec& spec, std::span<const Block> blocks,
                                   std::span<const uint32_t> k_per_block, uint64_t vector_size, uint64_t gamma_size,
                                   const char* what, const char* vector_name, uint32_t* ctas, uint64_t* partials);

// The BasisKey of block `block` (the truncnormal scale depends on its size). Throws like
// BasisGenerator for a block_size of 0 or of more than 2^32 groups.
BasisKey basis_key(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint64_t block_size);

// fill_basis's checks: the block size (as basis_key) and [j0, j0 + n) inside the block.
void check_fill_range(Basis basis, uint64_t j0, uint64_t n, uint64_t block_size);

// Calls f(std::integral_constant<Basis, B>{}) for the runtime basis: one kernel instance per basis,
// so the kernels carry no basis branches.
template <class F>
void with_basis(Basis basis, F&& f) {
  switch (basis) {
    case Basis::rademacher: return f(std::integral_constant<Basis, Basis::rademacher>{});
    case Basis::gaussian: return f(std::integral_constant<Basis, Basis::gaussian>{});
    case Basis::truncnormal: return f(std::integral_constant<Basis, Basis::truncnormal>{});
  }
  throw std::invalid_argument("basis value " + std::to_string(static_cast<int>(basis)) + " is not a Basis");
}

// Index of the segment holding CUDA block `cta` (segments sorted by first_cta, the first at 0).
FERRET_HD uint32_t find_segment(const Segment* segments, uint32_t n, uint32_t cta) {
  uint32_t lo = 0, hi = n;  // invariant: segments[lo].first_cta <= cta < segments[hi].first_cta
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (segments[mid].first_cta <= cta) lo = mid; else hi = mid;
  }
  return lo;
}

// Index of the segment holding coefficient i (segments sorted by gamma_at, the first at 0).
FERRET_HD uint32_t find_segment_of_coefficient(const Segment* segments, uint32_t n, uint64_t i) {
  uint32_t lo = 0, hi = n;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (segments[mid].gamma_at <= i) lo = mid; else hi = mid;
  }
  return lo;
}

// Reconstruction of unit u of segment s (see the top of the file); `out` is the whole flat vector.
template <Basis B>
FERRET_HD void reconstruct_unit(const Segment& s, uint64_t u, const float* gamma, float alpha, float* out) {
  constexpr uint32_t n = Unit<B>::kCoords;
  const uint64_t j0 = u * n;
  if (j0 >= s.size) return;
  float acc[n];
  if constexpr (B == Basis::rademacher) {
    // rademacher.hpp's contract: acc = S − Σ_{k: entry −1} 2γ_k, S = Σ_k γ_k in k order.
    float sum = 0.0f;
    for (uint32_t k = 0; k < s.k; ++k) sum = add_rn(sum, gamma[s.gamma_at + k]);
FERRET_UNROLL
    for (uint32_t i = 0; i < n; ++i) acc[i] = sum;
    for (uint32_t k = 0; k < s.k; ++k) {
      const float twice = mul_rn(2.0f, gamma[s.gamma_at + k]);
      if (twice == 0.0f) continue;
      float v[n];
      unit_entries<B>(s.key, k, u, v);
FERRET_UNROLL
      for (uint32_t i = 0; i < n; ++i) acc[i] = v[i] < 0.0f ? sub_rn(acc[i], twice) : acc[i];
    }
  } else {
FERRET_UNROLL
    for (uint32_t i = 0; i < n; ++i) acc[i] = 0.0f;
    for (uint32_t k = 0; k < s.k; ++k) {
      const float g = gamma[s.gamma_at + k];
      if (g == 0.0f) continue;  // adds exactly nothing (as on the CPU); server sums are often sparse
      float v[n];
      unit_entries<B>(s.key, k, u, v);
FERRET_UNROLL
      for (uint32_t i = 0; i < n; ++i) acc[i] = fma_rn(g, v[i], acc[i]);
    }
  }
  float* o = out + s.offset + j0;
  const uint64_t valid = s.size - j0;  // >= 1; the unit may run past the block's end
FERRET_UNROLL
  for (uint32_t i = 0; i < n; ++i)
    if (i < valid) o[i] = fma_rn(alpha, acc[i], o[i]);
}

// Loads unit u's Δ values (0 past the block's end, which then contributes nothing).
template <Basis B>
FERRET_HD void load_unit(const Segment& s, uint64_t u, const float* delta, float (&x)[Unit<B>::kCoords]) {
  constexpr uint32_t n = Unit<B>::kCoords;
  const uint64_t j0 = u * n;
  const uint64_t valid = j0 < s.size ? s.size - j0 : 0;
  const float* d = delta + s.offset + j0;
FERRET_UNROLL
  for (uint32_t i = 0; i < n; ++i) x[i] = i < valid ? d[i] : 0.0f;
}

// Σ_i x[i]·v_k[u·kCoords + i] of one unit: float chains i % 4 in fma order, combined in double.
// A unit entirely past the block's end contributes exactly 0 without generating its entries.
template <Basis B>
FERRET_HD double unit_dot(const Segment& s, uint32_t k, uint64_t u, const float (&x)[Unit<B>::kCoords]) {
  constexpr uint32_t n = Unit<B>::kCoords;
  if (u * n >= s.size) return 0.0;
  float v[n];
  unit_entries<B>(s.key, k, u, v);
  float chain[4] = {0.0f, 0.0f, 0.0f, 0.0f};
FERRET_UNROLL
  for (uint32_t i = 0; i < n; ++i) chain[i % 4] = fma_rn(x[i], v[i], chain[i % 4]);
  return (static_cast<double>(chain[0]) + static_cast<double>(chain[1])) +
         (static_cast<double>(chain[2]) + static_cast<double>(chain[3]));
}

// The device's warp reduction (v += __shfl_down_sync(v, offset) for offset = 16, 8, 4, 2, 1) run
// on the host: returns what lane 0 ends with, bit for bit.
inline double warp_tree_sum_host(double (&lane)[32]) {
  for (uint32_t offset = 16; offset > 0; offset /= 2)
    for (uint32_t l = 0; l + offset < 32; ++l) lane[l] += lane[l + offset];  // reads l + offset before it changes
  return lane[0];
}

// γ_i = c_l · Σ_chunks partial[chunk][k] (chunk order), i = gamma_at + k.
FERRET_HD float finalize_coefficient(const Segment& s, uint64_t i, const double* partial) {
  const uint64_t k = i - s.gamma_at;
  double sum = 0.0;
  for (uint32_t c = 0; c < s.chunks; ++c) sum += partial[s.partial_at + static_cast<uint64_t>(c) * s.k + k];
  return static_cast<float>(s.scale * sum);
}

}  // namespace ferret::cuda_detail
