// defines: ParamInfo, Block, make_blocks, Allocation (parse_allocation, to_string), allocate_k,
//          block_sq_norms, ProjectionSpec, project, reconstruct_add, check_blocks, gamma_offsets,
//          (the dense reference V_l of the tests is tests/support/dense_basis.hpp)
//
// Ferret's communication step (Shu et al., ICML 2025, §3.2): a client's update Δ ∈ R^d is sent as
// K coefficients on random directions that every rank can regenerate from the shared seed.
//
// ---- The estimator ------------------------------------------------------------------------------
// The flat parameter vector is cut into L contiguous blocks (make_blocks); block l has d_l
// coordinates and gets K_l ≥ 1 of the K coefficients (allocate_k, Σ_l K_l = K). Its basis is
// V_l = [v_1 … v_{K_l}] ∈ R^{d_l × K_l}, entries i.i.d. with mean 0 and variance σ_l² (random/basis.hpp:
// rademacher ±1 and gaussian N(0,1) have σ² = 1; the paper's truncnormal, N(0,1) cut at ±1/√d_l,
// has σ_l² = ρ_l ≈ 1/(3 d_l)). Fresh for every round r and block l.
//
//   client:       γ_l = c_l · V_lᵀ Δ_l,        c_l = 1 / (K_l σ_l²)            (paper eq. 6/8)
//   every rank:   Δ̃_l = V_l γ_l = (1/K_l) Σ_k v_k v_kᵀ Δ_l / σ_l²               (paper eq. 7/8)
//
// Unbiased: E[v vᵀ] = σ² I, so each term v_k v_kᵀ Δ_l / σ_l² has mean Δ_l and E[Δ̃_l] = Δ_l (Thm 1).
// (The official code scales by d_l/K_l instead: that equals 1/(K_l σ²) only for σ² = 1/d_l, and
// with truncnormal's σ² ≈ 1/(3 d_l) it shrinks the update to ≈ Δ/3. We use c_l.)
//
// Variance: the K_l terms are independent, and for one term X = v vᵀ Δ / σ²
//   E‖X − Δ‖² = E[(vᵀΔ)² ‖v‖²]/σ⁴ − ‖Δ‖² = (d_l − 2 + κ) ‖Δ‖²,   κ = E[v⁴]/σ⁴ (kurtosis)
// (κ = 1 rademacher, 3 gaussian, ≈ 9/5 truncnormal since it is nearly uniform on ±a), hence
//   E‖Δ̃_l − Δ_l‖² = (d_l − 2 + κ)/K_l · ‖Δ_l‖²  ≈  (d_l/K_l) ‖Δ_l‖².
// The reconstruction is a noisy K_l-dimensional sketch: cos(Δ̃_l, Δ_l) ≈ √(K_l/(K_l + d_l)).
// Summed over blocks, E‖Δ̃ − Δ‖² ≈ Σ_l (d_l/K_l)‖Δ_l‖², which under Σ K_l = K is minimized by
// K_l ∝ √d_l ‖Δ_l‖; the paper's rule K_l ∝ ‖Δ_l‖ (Allocation::norm) is its best-performing variant.
//
// Because Δ̃ is linear in γ, the server may add the γ's of several clients (same seed and round)
// and reconstruct once: Σ_i w_i Δ̃^(i) = V (Σ_i w_i γ^(i)).
//
// ---- Cost and determinism -----------------------------------------------------------------------
// project and reconstruct_add regenerate each basis vector tile by tile (no d×K matrix, no
// temporary of size d): per coordinate tile, project reads Δ once and dots it with all K_l basis
// tiles; reconstruct_add accumulates Σ_k γ_k v_k over the tile in L1 and adds it to `out` once.
// Work: d_l·K_l basis entries per block in each direction, spread over OpenMP threads by
// (block, chunk) work items. The chunking is a fixed function of the block sizes, partial dot
// products are per-chunk doubles summed in chunk order, and every float operation's order is fixed,
// so results are bitwise identical for any number of threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "random/basis.hpp"

namespace ferret {

// One trainable tensor, in flat-vector order.
struct ParamInfo {
  std::string name;
  uint64_t numel;
};

// A block is the range [offset, offset + size) of the flat parameter vector.
struct Block {
  std::string name;
  uint64_t offset;
  uint64_t size;
};

// The official code's grouping: target = floor(0.9 × median numel of the tensors) (median of an
// even count = mean of the two middle values); walk the tensors in order, closing the current block
// before a tensor that would take it past the target (unless it is empty). Each large tensor becomes
// its own block, runs of small ones (a layer's norm weights) merge. A block's name is its first
// tensor's name, with "+N" appended when N more tensors were merged into it.
// Throws if a tensor has numel 0. An empty list gives no blocks.
std::vector<Block> make_blocks(std::span<const ParamInfo> params);

enum class Allocation { uniform, size, norm };
Allocation parse_allocation(std::string_view name);  // "uniform" | "size" | "norm", else throws
std::string_view to_string(Allocation allocation);

// Splits K over the L blocks: Σ K_l = K exactly, every K_l ≥ 1. Shares are proportional to a weight
// (uniform: 1; size: d_l; norm: √block_sq_norms[l], the paper's K_l ∝ ‖Δ_l‖). Blocks whose share is
// below 1 get exactly 1 and the rest is re-split among the others; the real shares are rounded by
// largest remainder, ties to the lower block index. Identical inputs give identical K_l on every
// rank. norm falls back to size when all norms are zero or any is non-finite. block_sq_norms is
// read only by norm (it must then have L entries, none negative). Throws if L = 0 or K < L.
std::vector<uint32_t> allocate_k(uint32_t K, std::span<const Block> blocks, Allocation policy,
                                 std::span<const double> block_sq_norms);

// Σ_{j in block l} Δ_j², accumulated in double (deterministic, multithreaded).
std::vector<double> block_sq_norms(std::span<const Block> blocks, std::span<const float> delta);

// Which bases: the basis kind, the run seed and the round (block l's generator index is l).
struct ProjectionSpec {
  Basis basis;
  uint64_t seed;
  uint32_t round;
};

// Client side: gamma = concat_l c_l V_lᵀ Δ_l, block l's K_l coefficients contiguous, blocks in order.
// Requirements (throws naming the sizes otherwise): blocks in increasing offset order, non-overlapping,
// each non-empty and inside delta; k_per_block has one entry ≥ 1 per block; gamma.size() = Σ K_l.
void project(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
             std::span<const float> delta, std::span<float> gamma);

// Every rank: out[block l] += alpha · V_l γ_l for every block; other coordinates are untouched.
// Same requirements as project, with out in place of delta.
void reconstruct_add(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                     std::span<const float> gamma, float alpha, std::span<float> out);

// ---- Argument checks, shared by every implementation (host here, CUDA in src/cuda/) so that all
// refuse the same inputs with the same std::invalid_argument messages; `what` names the caller.
// Blocks: each non-empty, in increasing offset order, disjoint, inside a vector of `length`
// (`vector_name` in the message).
void check_blocks(std::span<const Block> blocks, uint64_t length, const char* what, const char* vector_name);
// One K_l >= 1 per block, summing to gamma_size; returns each block's offset in gamma, plus the total.
std::vector<uint64_t> gamma_offsets(std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                                    uint64_t gamma_size, const char* what);

}  // namespace ferret
