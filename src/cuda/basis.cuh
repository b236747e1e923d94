// defines: the basis-entry math of random/basis.cpp ported to CUDA (Philox4x32-10, the log / sincos / sqrt /
//          erfinv polynomials, Box–Muller, the three word -> entry transforms), as __host__ __device__
//          functions, plus BasisKey and unit_entries (one thread's run of entries of one basis vector).
//
// Bit equality with the CPU: every function here is random/basis.cpp's scalar code with the same constants
// and the same operation order. Each float multiply, add and fma goes through mul_rn / add_rn /
// sub_rn / fma_rn, which on the device are __fmul_rn / __fadd_rn / __fsub_rn / __fmaf_rn: nvcc
// never contracts those intrinsics into an fma, so the rounding sequence is exactly random/basis.cpp's
// (ferret_cuda is also built with --fmad=false and without fast math, as a second line of defence).
// On the host the same functions compile to plain IEEE operations (the library's host code is built
// with -ffp-contract=off), which lets the tests run the kernels' math on a machine without a GPU.
//
// The mapping (seed, round r, block l, vector k, coordinate j) -> entry is random/basis.hpp's:
//   key = {lo32, hi32}(splitmix64(seed)),  counter = {g, k, l, r},  g = j / G,
//   rademacher  G = 128: bit j % 32 of word (j % 128) / 32, 0 -> +1, 1 -> −1;
//   gaussian    G = 4:   Box–Muller on (w0, w1) -> entries 4g, 4g+1 and on (w2, w3) -> 4g+2, 4g+3;
//   truncnormal G = 4:   word q -> entry 4g+q, sqrt(2)·erfinv(t·erf(a/√2)), t in (−1, 1).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "random/basis.hpp"

#define FERRET_HD __host__ __device__ __forceinline__
// `#pragma unroll` for the device pass only: the host compiler (GCC, -Wall) does not know it.
#ifdef __CUDA_ARCH__
#define FERRET_UNROLL _Pragma("unroll")
#else
#define FERRET_UNROLL
#endif

namespace ferret::cuda_detail {

// ---- IEEE single operations that the compiler may not fuse or reorder ----------------------------

FERRET_HD float fma_rn(float a, float b, float c) {
#ifdef __CUDA_ARCH__
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

FERRET_HD float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

FERRET_HD float add_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

FERRET_HD float sub_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

FERRET_HD uint32_t bits_of(float x) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

FERRET_HD float float_of(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// ---- Philox4x32-10 ------------------------------------------------------------------------------
// random/philox.hpp's philox4x32_10 (Random123 / cuRAND constants). The 32×32 -> 64-bit products compile to
// one IMAD.WIDE.U32 each on sm_90, giving both halves at once.
struct Words {
  uint32_t w0, w1, w2, w3;
};

FERRET_HD Words philox(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
FERRET_UNROLL
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n1 = static_cast<uint32_t>(p1);
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    const uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  return {c0, c1, c2, c3};
}

// What a kernel needs to regenerate the basis of block l in round r (random/basis.hpp's counter layout).
struct BasisKey {
  uint32_t key0, key1;  // lo32 / hi32 of splitmix64(seed)
  uint32_t round, block;
  float trunc_scale;    // erf(a/√2), a = 1/sqrt(d_l), computed on the host in double (truncnormal only)
};

// The four words of group g of basis vector k: counter {g, k, l, r}.
FERRET_HD Words group_words(const BasisKey& key, uint32_t k, uint32_t g) {
  return philox(g, k, key.block, key.round, key.key0, key.key1);
}

// ---- transcendentals: random/basis.cpp's polynomials, operation for operation ---------------------------

constexpr float kTwoPow24Inv = 1.0f / 16777216.0f;
constexpr float kTwoPiOverTwoPow24 = 6.28318530717958647692f * kTwoPow24Inv;  // as random/basis.cpp folds it
constexpr float kSqrt2 = 1.41421356237309504880f;

// Cephes logf for a positive normal float (random/basis.cpp: log_positive).
FERRET_HD float log_positive(float x) {
  const uint32_t bits = bits_of(x);
  uint32_t mantissa = (bits & 0x007FFFFFu) | 0x3F800000u;
  const uint32_t halve = mantissa > 0x3FB504F3u ? 1u : 0u;
  mantissa -= halve << 23;
  const float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127 + static_cast<int32_t>(halve));
  const float f = sub_rn(float_of(mantissa), 1.0f);
  const float z = mul_rn(f, f);
  float p = 7.0376836292E-2f;
  p = fma_rn(p, f, -1.1514610310E-1f);
  p = fma_rn(p, f, 1.1676998740E-1f);
  p = fma_rn(p, f, -1.2420140846E-1f);
  p = fma_rn(p, f, 1.4249322787E-1f);
  p = fma_rn(p, f, -1.6668057665E-1f);
  p = fma_rn(p, f, 2.0000714765E-1f);
  p = fma_rn(p, f, -2.4999993993E-1f);
  p = fma_rn(p, f, 3.3333331174E-1f);
  float y = mul_rn(mul_rn(p, f), z);
  y = fma_rn(e, -2.12194440E-4f, y);
  y = fma_rn(-0.5f, z, y);
  const float r = add_rn(f, y);
  return fma_rn(e, 0.693359375f, r);
}

struct SinCos {
  float s, c;
};

// sin and cos of 2π·m/2^24 for a 24-bit m: exact integer quarter-turn reduction, Cephes polynomials
// on [−π/4, π/4) (random/basis.cpp: sincos_turns24).
FERRET_HD SinCos sincos_turns24(uint32_t m) {
  const uint32_t n = (m + (1u << 21)) >> 22;
  const int32_t r = static_cast<int32_t>(m) - static_cast<int32_t>(n << 22);
  const float x = mul_rn(static_cast<float>(r), kTwoPiOverTwoPow24);
  const float z = mul_rn(x, x);
  const float ps = fma_rn(fma_rn(-1.9515295891E-4f, z, 8.3321608736E-3f), z, -1.6666654611E-1f);
  const float sin_x = fma_rn(mul_rn(ps, z), x, x);
  const float pc = fma_rn(fma_rn(2.443315711809948E-5f, z, -1.388731625493765E-3f), z, 4.166664568298827E-2f);
  const float cos_x = fma_rn(mul_rn(pc, z), z, fma_rn(-0.5f, z, 1.0f));
  const uint32_t quarter = n & 3u;
  const bool swap = (quarter & 1u) != 0;
  const uint32_t sin_sign = (quarter & 2u) << 30;
  const uint32_t cos_sign = ((quarter + 1u) & 2u) << 30;
  const float s = swap ? cos_x : sin_x;
  const float c = swap ? sin_x : cos_x;
  return {float_of(bits_of(s) ^ sin_sign), float_of(bits_of(c) ^ cos_sign)};
}

// sqrt of a positive normal float: bit-trick estimate, three Newton steps, one residual correction
// (random/basis.cpp: sqrt_positive). Not the hardware sqrt, whose rounding random/basis.cpp does not use.
FERRET_HD float sqrt_positive(float x) {
  const float half_x = mul_rn(0.5f, x);
  float r = float_of(0x5F375A86u - (bits_of(x) >> 1));
  r = mul_rn(r, fma_rn(mul_rn(-half_x, r), r, 1.5f));
  r = mul_rn(r, fma_rn(mul_rn(-half_x, r), r, 1.5f));
  r = mul_rn(r, fma_rn(mul_rn(-half_x, r), r, 1.5f));
  const float s = mul_rn(x, r);
  return fma_rn(fma_rn(-s, s, x), mul_rn(0.5f, r), s);
}

// Giles 2010 single-precision erfinv, central branch (random/basis.cpp: erfinv_central_inline).
FERRET_HD float erfinv_central(float x) {
  float w = -log_positive(fma_rn(-x, x, 1.0f));
  w = sub_rn(w, 2.5f);
  float p = 2.81022636e-08f;
  p = fma_rn(p, w, 3.43273939e-07f);
  p = fma_rn(p, w, -3.5233877e-06f);
  p = fma_rn(p, w, -4.39150654e-06f);
  p = fma_rn(p, w, 0.00021858087f);
  p = fma_rn(p, w, -0.00125372503f);
  p = fma_rn(p, w, -0.00417768164f);
  p = fma_rn(p, w, 0.246640727f);
  p = fma_rn(p, w, 1.50140941f);
  return mul_rn(p, x);
}

// ---- word -> entry transforms (random/basis.cpp, same names) ---------------------------------------------

// +1 if bit b of w is 0, −1 if it is 1: bit b moved to the sign position of 1.0f.
FERRET_HD float rademacher_entry(uint32_t w, uint32_t b) {
  return float_of(0x3F800000u | ((w << (31 - b)) & 0x80000000u));
}

FERRET_HD float open_unit_from_word(uint32_t w) {  // (2·(w >> 9) + 1)·2^-24, exact, in (0, 1)
  return mul_rn(static_cast<float>(static_cast<int32_t>(((w >> 9) << 1) | 1u)), kTwoPow24Inv);
}

struct Pair {
  float x, y;
};

// Box–Muller: (u, θ) from words (wu, wt) -> (R cos θ, R sin θ), R = sqrt(−2 ln u).
FERRET_HD Pair box_muller(uint32_t wu, uint32_t wt) {
  const float radius = sqrt_positive(mul_rn(-2.0f, log_positive(open_unit_from_word(wu))));
  const SinCos sc = sincos_turns24(wt >> 8);
  return {mul_rn(radius, sc.c), mul_rn(radius, sc.s)};
}

FERRET_HD float symmetric_unit_from_word(uint32_t w) {  // (2·(w >> 8) + 1 − 2^24)·2^-24, exact
  const int32_t odd = static_cast<int32_t>(((w >> 8) << 1) | 1u) - (1 << 24);
  return mul_rn(static_cast<float>(odd), kTwoPow24Inv);
}

// random/basis.cpp's choice and series (truncnormal_series_from_word): Taylor below kSeriesMaxScale.
constexpr float kSeriesMaxScale = 0.05f;
constexpr float kSqrtHalfPi = 1.25331413731550025f;
constexpr float kSeriesC3 = 0.261799387799149436f;
constexpr float kSeriesC5 = 0.143931730849219790f;

FERRET_HD float truncnormal_from_word(uint32_t w, float scale) {
  const float x = mul_rn(symmetric_unit_from_word(w), scale);
  if (scale < kSeriesMaxScale) {
    const float x2 = mul_rn(x, x);
    return mul_rn(mul_rn(x, kSqrtHalfPi), fma_rn(fma_rn(kSeriesC5, x2, kSeriesC3), x2, 1.0f));
  }
  return mul_rn(erfinv_central(x), kSqrt2);
}

// The four entries 4g .. 4g+3 of a float basis from the words of group g.
FERRET_HD void gaussian_group(const Words& w, float* v) {
  const Pair first = box_muller(w.w0, w.w1);
  const Pair second = box_muller(w.w2, w.w3);
  v[0] = first.x;
  v[1] = first.y;
  v[2] = second.x;
  v[3] = second.y;
}

FERRET_HD void truncnormal_group(const Words& w, float scale, float* v) {
  v[0] = truncnormal_from_word(w.w0, scale);
  v[1] = truncnormal_from_word(w.w1, scale);
  v[2] = truncnormal_from_word(w.w2, scale);
  v[3] = truncnormal_from_word(w.w3, scale);
}

// ---- one thread's unit of work ------------------------------------------------------------------
// A "unit" is the run of consecutive coordinates one GPU thread owns in both kernels: unit u of a
// block covers coordinates [u·kCoords, (u + 1)·kCoords) of that block.
//   rademacher: 64 coordinates = half a Philox group. The thread runs the group's Philox call itself
//               and keeps words 2h, 2h+1 (h = u % 2); the partner thread computes the same call. The
//               2× redundant Philox (≈ 1.6 instructions per entry) is cheaper than sharing the words
//               through shuffles, and a whole group per thread would need 128 accumulators.
//   gaussian / truncnormal: 8 coordinates = two groups, two independent Philox calls (ILP).
template <Basis B>
struct Unit {
  static constexpr uint32_t kCoords = 8;
};
template <>
struct Unit<Basis::rademacher> {
  static constexpr uint32_t kCoords = 64;
};

// v[i] = v_k[u·kCoords + i] for i < kCoords (entries past the block's end are computed but unused).
template <Basis B>
FERRET_HD void unit_entries(const BasisKey& key, uint32_t k, uint64_t u, float (&v)[Unit<B>::kCoords]) {
  if constexpr (B == Basis::rademacher) {
    const Words w = group_words(key, k, static_cast<uint32_t>(u >> 1));
    const bool upper = (u & 1) != 0;
    const uint32_t low = upper ? w.w2 : w.w0, high = upper ? w.w3 : w.w1;
FERRET_UNROLL
    for (uint32_t b = 0; b < 32; ++b) {
      v[b] = rademacher_entry(low, b);
      v[32 + b] = rademacher_entry(high, b);
    }
  } else {
    const uint32_t g = static_cast<uint32_t>(2 * u);
    const Words first = group_words(key, k, g);
    const Words second = group_words(key, k, g + 1);
    if constexpr (B == Basis::gaussian) {
      gaussian_group(first, v);
      gaussian_group(second, v + 4);
    } else {
      truncnormal_group(first, key.trunc_scale, v);
      truncnormal_group(second, key.trunc_scale, v + 4);
    }
  }
}

}  // namespace ferret::cuda_detail
