// defines: NaiveTiming, time_naive_torch
//
// The in-run reference of ferret-bench: projection and reconstruction done the way the official
// Python code does them (allen4747/Ferret), with LibTorch ops, one basis vector at a time:
//   for each block l, basis k:  seed a generator with a per-(round, l, k) seed,
//                               v = empty(d_l) filled with the distribution,
//                               project: γ_k = c_l · dot(Δ_l, v)   reconstruct: out_l += α γ_k v
// rademacher: bernoulli_(0.5)·2 − 1; gaussian: normal_(0, 1); truncnormal: torch's trunc_normal_
// recipe (uniform_ on [2Φ(−a)−1, 2Φ(a)−1], erfinv_, ·√2, clamp_ to ±a, a = 1/√d_l).
// Every basis costs the same (equal blocks), so when the budget runs out before all K bases are
// done, the time is extrapolated linearly from the bases done (reported as such).
#pragma once

#include <cstdint>

#include "kernels.hpp"

namespace ferret::bench {

struct NaiveTiming {
  double seconds = 0;        // for all K bases (extrapolated when bases_timed < bases_total)
  uint64_t bases_timed = 0;
  uint64_t bases_total = 0;
};

// budget_s ≤ 0: time every basis.
NaiveTiming time_naive_torch(const KernelCase& c, double budget_s);

}  // namespace ferret::bench
