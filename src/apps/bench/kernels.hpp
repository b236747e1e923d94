// defines: KernelOp, KernelCase, equal_blocks, basis_elements, kernel_bytes, best_seconds,
//          time_ours, stream_floor_seconds, philox_floor_seconds
//
// ferret-bench's measurements of our projection/reconstruction (projection.hpp) and of the
// machine's streaming floor. Torch-free: the naive LibTorch reference is naive_torch.hpp.
//
// A case cuts d coordinates into L equal blocks (the remainder spread over the first ones) and
// splits K uniformly (K_l = K/L, allocate_k). The work is Σ_l d_l·K_l basis elements per call.
// The floor is a streaming read+write of d floats (y ← a·y + b, OpenMP, T threads): the least
// memory traffic a reconstruction must do (read and write `out` once). floor_fraction =
// floor seconds / our seconds; 1 means "as fast as touching the parameters once".
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "projection/projection.hpp"
#include "random/basis.hpp"

namespace ferret::bench {

enum class KernelOp { project, reconstruct };
KernelOp parse_kernel_op(std::string_view name);  // "project" | "reconstruct", else throws
std::string_view to_string(KernelOp op);

struct KernelCase {
  KernelOp op;
  uint64_t d;
  uint32_t k;
  uint32_t blocks;
  Basis basis;
  int threads;
};

// Throws std::invalid_argument naming the value when d < L, K < L or threads < 1.
void check_case(const KernelCase& c);
std::vector<Block> equal_blocks(uint64_t d, uint32_t num_blocks);
double basis_elements(const KernelCase& c);  // Σ_l d_l K_l
double kernel_bytes(const KernelCase& c);     // parameter bytes touched: 4d (project), 8d (reconstruct)

// Best wall time of f over at least `min_reps` calls, more while the total stays under budget_s
// (one call when the first already exceeds it), at most max_reps.
double best_seconds(const std::function<void()>& f, double budget_s = 0.5, int min_reps = 3, int max_reps = 20);

// Our project / reconstruct_add on the case (fixed pseudo-random Δ), best of several calls.
double time_ours(const KernelCase& c);

// The streaming floor of d floats with `threads` OpenMP threads, best of several passes.
double stream_floor_seconds(uint64_t d, int threads);

// The generation floor of a case: the Philox calls its bases need (Σ d_l K_l / 128 for
// rademacher, / 4 for gaussian and truncnormal), made with the generator's bulk code
// (philox_words) on `threads` threads and otherwise unused. Our time can approach it but not
// beat it: it is the share of the work no kernel design removes.
double philox_floor_seconds(const KernelCase& c);

}  // namespace ferret::bench
