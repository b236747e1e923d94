// defines: Basis (parse_basis, to_string), basis_group_size, basis_variance, fill_basis,
//          BasisGenerator, erfinv_central — where the bases v[r, l, k, j] are generated (CPU);
//          cuda/basis.cuh is the bit-identical GPU twin
//
// ---- Basis entries ------------------------------------------------------------------------------
// The entry v[r, l, k, j] (round r, block l, basis vector k, coordinate j of block l) is a pure
// function of (seed, r, l, k, j) and the basis kind. The mapping, which a CUDA kernel must copy:
//
//   key     = { lo32(splitmix64(seed)), hi32(splitmix64(seed)) }
//   counter = { g, k, l, r }       g = j / G, the index of j's group of G consecutive coordinates
//   words   = philox4x32_10(counter, key) = { w0, w1, w2, w3 }
//
//   rademacher (G = 128): coordinate j uses bit b = j % 32 of word q = (j % 128) / 32;
//                         v = +1 if the bit is 0, -1 if it is 1. One bit per entry: a Philox call
//                         serves 128 entries, which makes the ±1 basis nearly free to generate.
//   gaussian   (G = 4):   Box–Muller on (w0, w1) -> entries 4g, 4g+1 and on (w2, w3) -> 4g+2, 4g+3:
//                         u = (2·(w_even >> 9) + 1)·2^-24 in (0, 1), never 0, so log(u) is finite;
//                         θ = 2π·(w_odd >> 8)·2^-24;  R = sqrt(-2 ln u);  v = (R cos θ, R sin θ).
//   truncnormal (G = 4):  N(0, 1) truncated to [-a, a], a = 1/sqrt(d_l) (the paper's basis, ‖v‖ ≤ 1),
//                         by inverse CDF: word w_q -> entry 4g+q,
//                         t = (2·(w_q >> 8) + 1 - 2^24)·2^-24 in (-1, 1) (exact in float),
//                         v = sqrt(2)·erfinv(t·erf(a/sqrt(2))); erfinv is Giles' central branch, or,
//                         when s = erf(a/√2) < 0.05 (d_l ≥ 255), with x = t·s:
//                         v = (x·√(π/2))·fma(fma(7π²/480, x², π/12), x², 1)   (Taylor, ≤ 1e-9 rel.).
//
// Bit reproducibility: rademacher is exact. gaussian and truncnormal use only integer bit operations
// and IEEE float +, −, ×, fma (our own log, sin/cos, sqrt and erfinv, see random/basis.cpp; every
// multiply-add is an explicit fma), so the values do not depend on libm, on vectorization or on FP
// contraction; a CUDA kernel with the same operation sequence (fmaf, __fmul_rn/__fadd_rn so nvcc
// does not contract, no fast math) reproduces them bit for bit. erf(a/√2) is computed once per block
// in double and rounded to float. Accuracy: log and sin/cos are Cephes single-precision polynomials
// (≈ 1 ulp), sqrt is Newton + one residual correction (≤ 1 ulp); gaussian entries agree with a
// double-precision Box–Muller to 2e-6 relative (tested). erfinv: Giles 2010 single-precision
// central branch, measured relative error ≤ 2.6e-7 on |x| ≤ 0.7 ⊇ [−erf(1/√2), erf(1/√2)], which
// holds every argument since a ≤ 1.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "random/philox.hpp"

namespace ferret {

// ---- Basis kinds --------------------------------------------------------------------------------
enum class Basis { rademacher, gaussian, truncnormal };

Basis parse_basis(std::string_view name);  // "rademacher" | "gaussian" | "truncnormal", else throws
std::string_view to_string(Basis basis);

// G of the mapping above: coordinates per Philox call (128 for rademacher, 4 otherwise).
uint32_t basis_group_size(Basis basis);

// σ² = E[v²] of one entry of a block of `block_size` coordinates: 1 for rademacher and gaussian;
// for truncnormal the variance of N(0,1) truncated to ±a, a = 1/sqrt(block_size),
//   ρ = 1 − 2aφ(a)/(2Φ(a) − 1)  ≈ a²/3 = 1/(3 d_l)  (the paper's ρ_l),
// evaluated as a²·N(a²)/D(a²) with the (rapidly converging, cancellation-free) power series of the
// two truncated moments, accurate to double rounding for every block_size ≥ 1.
double basis_variance(Basis basis, uint64_t block_size);

// Writes v[round, block, k, j0 + i] for i < out.size() into out. j0 need not be aligned; the result
// does not depend on how a range is split into calls. Throws if block_size is 0, if the range
// leaves the block, or if the block is too large for 32-bit group counters (> 2^32 groups).
void fill_basis(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint32_t k, uint64_t j0,
                uint64_t block_size, std::span<float> out);

// The basis generator of one (basis, seed, round, block), for hot loops that produce many tiles:
// generate() writes group-aligned runs of one basis vector. fill_basis is a thin wrapper.
class BasisGenerator {
 public:
  // Coordinates per generate() call at most; a multiple of every group size.
  static constexpr uint64_t kMaxTile = 4096;

  BasisGenerator(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint64_t block_size);

  // out[i] = v[k, j0 + i] for i < n; j0 must be a multiple of group_size(), n ≤ kMaxTile and
  // j0 + n ≤ block_size (checked by callers: this is the hot path). `out` must have room for n
  // rounded up to a multiple of group_size(): whole groups are written.
  void generate(uint32_t k, uint64_t j0, uint64_t n, float* out) const;

  // acc[i] += gamma · v[k, j0 + i] for i < n (same preconditions as generate; acc needs only n
  // entries). Rounded exactly like fma(gamma, v, acc); rademacher never materializes v.
  void accumulate(uint32_t k, uint64_t j0, uint64_t n, float gamma, float* acc) const;

  // Σ_i x[i] · v[k, j0 + i] for i < n (same preconditions) in a fixed order: entry i goes to float
  // lane i % 64, lanes are summed in double in lane order. Deterministic, vectorized.
  double dot(uint32_t k, uint64_t j0, uint64_t n, const float* x) const;

  // words[q][i] = word q of philox({g, k0 + i, block, round}) for i < 16: the sign words of
  // coordinate group g (coordinates 128g .. 128g + 127) of the 16 bases k0 .. k0 + 15, one basis per
  // lane, which is how the fused rademacher kernels (rademacher.hpp) consume them. Portable; the
  // kernels' AVX-512 build has its own interleaved copy (rademacher.cpp), equal bit for bit.
  void group_words16(uint32_t g, uint32_t k0, uint32_t (&words)[4][16]) const;

  // The Philox key and the counter words 2 and 3 ({g, k, block, round}) of this generator.
  std::array<uint32_t, 2> philox_key() const { return {key0_, key1_}; }
  uint32_t block_index() const { return block_; }
  uint32_t round_index() const { return round_; }

  uint32_t group_size() const { return group_; }
  Basis basis() const { return basis_; }

 private:
  void rademacher_words(uint32_t k, uint64_t j0, uint64_t n, uint32_t* words) const;

  Basis basis_;
  uint32_t key0_, key1_, round_, block_, group_;
  float trunc_scale_;  // erf(a/√2) for truncnormal
};

// erfinv for |x| ≤ 0.7 (the central branch of Giles 2010, "Approximating the erfinv function",
// single precision; relative error ≤ 2.6e-7 there), exactly as the truncnormal generator computes it.
// Throws for |x| > 0.7.
float erfinv_central(float x);


}  // namespace ferret
