// defines: rademacher_project_range, rademacher_reconstruct_range, kRademacherTile, kRademacherLanes
//
// The fused ±1 kernels behind project / reconstruct_add for Basis::rademacher. They see the same
// basis as fill_basis (random/basis.hpp: coordinate j of basis k uses bit j % 32 of word (j % 128) / 32 of
// philox({j / 128, k, block, round})), but never turn a bit into a float: with s_jk ∈ {+1, −1} and
// b_jk = 1 exactly when s_jk = −1,
//
//   reconstruction   Σ_k γ_k s_jk  =  S − Σ_{k: b_jk = 1} 2γ_k,      S = Σ_k γ_k
//   projection       Σ_j s_jk Δ_j  =  T − 2 Σ_{j: b_jk = 1} Δ_j,     T = Σ_j Δ_j
//
// so each (basis, 16 coordinates) step is one masked subtract or add whose mask is 16 bits of a
// Philox word, loaded straight into an AVX-512 mask register. Philox runs 16 bases at a time in
// the 16 lanes of a vector (all counters of one 128-coordinate group), and the working set lives
// in registers: reconstruction keeps the group's 8 accumulators (128 floats) while every basis
// passes, projection keeps 16 bases' accumulators while a tile of Δ (in L1) passes.
//
// Rounding (the contract; the portable build and the CUDA twin (src/cuda/work_split.cuh) follow it
// operation for operation, so all give the same bits):
//   reconstruction, per coordinate j:  S = ((0 + γ_0) + γ_1) + … (float, k order, all k);
//     acc = S; for k in order, if γ_k ≠ 0 and b_jk = 1: acc = acc − 2γ_k;  out_j = fma(α, acc, out_j).
//   projection, per basis k, per tile of kRademacherTile coordinates of a chunk (tiles start at the
//     chunk start): coordinate j goes to float lane (j − tile start) % 16; lanes_T[lane] += Δ_j for
//     every j, lanes_M[lane] += Δ_j when b_jk = 1, in increasing j; T and M are the lanes summed in
//     double in lane order; the tile adds T − 2M to the chunk's double partial sum, tiles in order.
#pragma once

#include <cstdint>

#include "random/basis.hpp"

namespace ferret {

inline constexpr uint64_t kRademacherTile = 4096;  // projection: coordinates per tile (16 KiB of Δ)
inline constexpr uint32_t kRademacherLanes = 16;   // projection: float lanes per basis and tile

// partial[k] = Σ_{j in [begin, end)} s_jk Δ_j for k < k_l, in the order above (delta points at the
// block's coordinate 0; begin is a multiple of 128; the generator is rademacher).
void rademacher_project_range(const BasisGenerator& generator, uint64_t begin, uint64_t end, uint32_t k_l,
                              const float* delta, double* partial);

// out[j] = fma(alpha, Σ_k γ_k s_jk, out[j]) for j in [begin, end), rounded as above (out points at
// the block's coordinate 0; begin is a multiple of 128; sum_gamma is S of the block's γ).
void rademacher_reconstruct_range(const BasisGenerator& generator, uint64_t begin, uint64_t end, const float* gamma,
                                  uint32_t k_l, float sum_gamma, float alpha, float* out);

// S of the rounding contract: γ_0 + γ_1 + … in float, in k order.
float rademacher_gamma_sum(const float* gamma, uint32_t k_l);

}  // namespace ferret
