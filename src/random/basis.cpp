// defines: Philox-based basis generation (see basis.hpp for the coordinate -> counter mapping).
//
// Performance: generate() first runs Philox over a tile of consecutive counters into small local
// arrays (one array per output word, so the loop is vectorized across counters), then transforms
// the words into floats in a second vectorizable loop. For rademacher, accumulate() and dot() fuse
// the ±1 into a sign-bit flip of γ or x, so the basis is never stored. Transcendentals are our own polynomials
// written with explicit fma: libm calls would block vectorization and differ between libm, CUDA
// and compiler versions, and these values must be identical everywhere.
#include "random/basis.hpp"

#include "random/philox_avx512.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ferret {
namespace {

constexpr uint32_t kRademacherGroup = 128;  // 4 words × 32 sign bits per Philox call
constexpr uint32_t kFloatGroup = 4;         // one word (gaussian: half a pair) per entry
constexpr uint64_t kMaxCallsPerTile = BasisGenerator::kMaxTile / kFloatGroup;
constexpr float kTwoPow24Inv = 1.0f / 16777216.0f;
constexpr float kSqrt2 = 1.41421356237309504880f;

// Natural log of a positive normal float (Cephes logf: m·2^e with m in [√½, √2), a degree-8
// polynomial in f = m − 1; ≈ 1 ulp). Branch-free for vectorization.
inline float log_positive(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  uint32_t mantissa = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  const uint32_t halve = mantissa > 0x3FB504F3u ? 1u : 0u; // m > √2: use m/2 and e + 1
  mantissa -= halve << 23;
  const float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127 + static_cast<int32_t>(halve));
  const float f = std::bit_cast<float>(mantissa) - 1.0f;
  const float z = f * f;
  float p = 7.0376836292E-2f;
  p = std::fma(p, f, -1.1514610310E-1f);
  p = std::fma(p, f, 1.1676998740E-1f);
  p = std::fma(p, f, -1.2420140846E-1f);
  p = std::fma(p, f, 1.4249322787E-1f);
  p = std::fma(p, f, -1.6668057665E-1f);
  p = std::fma(p, f, 2.0000714765E-1f);
  p = std::fma(p, f, -2.4999993993E-1f);
  p = std::fma(p, f, 3.3333331174E-1f);
  float y = (p * f) * z;
  y = std::fma(e, -2.12194440E-4f, y);  // ln 2 = 0.693359375 - 2.12194440e-4 (Cody–Waite split)
  y = std::fma(-0.5f, z, y);
  const float r = f + y;
  return std::fma(e, 0.693359375f, r);
}

// sin and cos of 2π·m/2^24 for a 24-bit m. Reduction is exact in integers: m = n·2^22 + r with
// r in [−2^21, 2^21), so the angle is n quarter turns plus x = 2π·r/2^24 in [−π/4, π/4), where the
// Cephes sinf/cosf polynomials are accurate to ≈ 1 ulp; the quarter turns are applied by swapping
// and negating (branch-free).
struct SinCos {
  float s, c;
};
inline SinCos sincos_turns24(uint32_t m) {
  const uint32_t n = (m + (1u << 21)) >> 22;  // 0..4
  const int32_t r = static_cast<int32_t>(m) - static_cast<int32_t>(n << 22);
  const float x = static_cast<float>(r) * (6.28318530717958647692f * kTwoPow24Inv);
  const float z = x * x;
  const float ps = std::fma(std::fma(-1.9515295891E-4f, z, 8.3321608736E-3f), z, -1.6666654611E-1f);
  const float sin_x = std::fma(ps * z, x, x);
  const float pc = std::fma(std::fma(2.443315711809948E-5f, z, -1.388731625493765E-3f), z, 4.166664568298827E-2f);
  const float cos_x = std::fma(pc * z, z, std::fma(-0.5f, z, 1.0f));
  const uint32_t quarter = n & 3u;
  const bool swap = (quarter & 1u) != 0;
  const uint32_t sin_sign = (quarter & 2u) << 30;             // negative for quarters 2, 3
  const uint32_t cos_sign = ((quarter + 1u) & 2u) << 30;      // negative for quarters 1, 2
  const float s = swap ? cos_x : sin_x;
  const float c = swap ? sin_x : cos_x;
  return {std::bit_cast<float>(std::bit_cast<uint32_t>(s) ^ sin_sign),
          std::bit_cast<float>(std::bit_cast<uint32_t>(c) ^ cos_sign)};
}

// sqrt of a positive normal float: bit-trick 1/√x estimate, three Newton steps (≈ 1e-7 relative),
// then one residual correction s + (x − s²)·r/2, which leaves s within 1 ulp of √x (nearly always
// the correctly rounded value). Ours rather than std::sqrt because with errno handling (GCC's
// default) std::sqrt carries a branch to libm that keeps the Box–Muller loop from vectorizing.
inline float sqrt_positive(float x) {
  const float half_x = 0.5f * x;
  float r = std::bit_cast<float>(0x5F375A86u - (std::bit_cast<uint32_t>(x) >> 1));
  r = r * std::fma(-half_x * r, r, 1.5f);
  r = r * std::fma(-half_x * r, r, 1.5f);
  r = r * std::fma(-half_x * r, r, 1.5f);
  const float s = x * r;
  return std::fma(std::fma(-s, s, x), 0.5f * r, s);
}

// Giles (2010) single-precision erfinv, central branch (w = −ln(1 − x²) < 5, i.e. |x| < 0.9966).
inline float erfinv_central_inline(float x) {
  float w = -log_positive(std::fma(-x, x, 1.0f));
  w = w - 2.5f;
  float p = 2.81022636e-08f;
  p = std::fma(p, w, 3.43273939e-07f);
  p = std::fma(p, w, -3.5233877e-06f);
  p = std::fma(p, w, -4.39150654e-06f);
  p = std::fma(p, w, 0.00021858087f);
  p = std::fma(p, w, -0.00125372503f);
  p = std::fma(p, w, -0.00417768164f);
  p = std::fma(p, w, 0.246640727f);
  p = std::fma(p, w, 1.50140941f);
  return p * x;
}

// ---- word -> float transforms (one loop each, vectorized) ----

// Bit b of w moved to the float sign position. Written as a left shift and a mask so that, xor-ed
// into a float, it compiles to one variable shift plus one three-input logic op (AVX-512).
inline uint32_t sign_bit(uint32_t w, uint64_t b) { return (w << (31 - b)) & 0x80000000u; }

void rademacher_from_words(const uint32_t* __restrict words, uint64_t n_words, float* __restrict out) {
  for (uint64_t i = 0; i < n_words; ++i) {
    const uint32_t w = words[i];
    for (uint32_t b = 0; b < 32; ++b)  // bit b set -> sign bit set -> −1
      out[i * 32 + b] = std::bit_cast<float>(0x3F800000u | sign_bit(w, b));
  }
}

inline float open_unit_from_word(uint32_t w) {  // (2·(w >> 9) + 1)·2^-24, exact, in (0, 1)
  return static_cast<float>(static_cast<int32_t>(((w >> 9) << 1) | 1u)) * kTwoPow24Inv;
}

// Box–Muller: (u, θ) from words (wu, wt) -> (R cos θ, R sin θ), R = sqrt(−2 ln u).
struct Pair {
  float x, y;
};
inline Pair box_muller(uint32_t wu, uint32_t wt) {
  const float radius = sqrt_positive(-2.0f * log_positive(open_unit_from_word(wu)));
  const SinCos sc = sincos_turns24(wt >> 8);
  return {radius * sc.c, radius * sc.s};
}

// All four entries of a group are stored in the same iteration: the compiler then vectorizes the
// stride-4 stores with shuffles instead of scalar stores.
void gaussian_from_words(const uint32_t* __restrict w0, const uint32_t* __restrict w1, const uint32_t* __restrict w2,
                         const uint32_t* __restrict w3, uint64_t n, float* __restrict out) {
  for (uint64_t i = 0; i < n; ++i) {
    const Pair first = box_muller(w0[i], w1[i]);
    const Pair second = box_muller(w2[i], w3[i]);
    out[4 * i] = first.x;
    out[4 * i + 1] = first.y;
    out[4 * i + 2] = second.x;
    out[4 * i + 3] = second.y;
  }
}

inline float symmetric_unit_from_word(uint32_t w) {  // (2·(w >> 8) + 1 − 2^24)·2^-24, exact, in (−1, 1)
  const int32_t odd = static_cast<int32_t>(((w >> 8) << 1) | 1u) - (1 << 24);
  return static_cast<float>(odd) * kTwoPow24Inv;
}

inline float truncnormal_from_word(uint32_t w, float scale) {
  return erfinv_central_inline(symmetric_unit_from_word(w) * scale) * kSqrt2;
}

// For blocks of d_l ≥ 255 coordinates (scale = erf(a/√2) < kSeriesMaxScale), every argument x has
// |x| < 0.05, and √2·erfinv(x) = √(π/2)·x·(1 + (π/12)x² + (7π²/480)x⁴ + (127π³/40320)x⁶ + …): the
// series cut after x⁴ is within 1e-9 relative (the next term, ≤ 0.098·x⁶), closer than the central
// branch's 2.6e-7, and costs 2 fma and 3 multiplies instead of a log and 10 fma. The choice depends on
// the block only, so every rank and the CUDA kernels (basis.cuh) make the same one.
constexpr float kSeriesMaxScale = 0.05f;
constexpr float kSqrtHalfPi = 1.25331413731550025f;  // √(π/2) = √2 · √π/2
constexpr float kSeriesC3 = 0.261799387799149436f;   // π/12
constexpr float kSeriesC5 = 0.143931730849219790f;   // 7π²/480

inline float truncnormal_series_from_word(uint32_t w, float scale) {
  const float x = symmetric_unit_from_word(w) * scale;
  const float x2 = x * x;
  const float p = std::fma(std::fma(kSeriesC5, x2, kSeriesC3), x2, 1.0f);
  return (x * kSqrtHalfPi) * p;
}

void truncnormal_from_words(const uint32_t* __restrict w0, const uint32_t* __restrict w1,
                            const uint32_t* __restrict w2, const uint32_t* __restrict w3, uint64_t n, float scale,
                            float* __restrict out) {
  if (scale < kSeriesMaxScale) {
    for (uint64_t i = 0; i < n; ++i) {
      out[4 * i] = truncnormal_series_from_word(w0[i], scale);
      out[4 * i + 1] = truncnormal_series_from_word(w1[i], scale);
      out[4 * i + 2] = truncnormal_series_from_word(w2[i], scale);
      out[4 * i + 3] = truncnormal_series_from_word(w3[i], scale);
    }
    return;
  }
  for (uint64_t i = 0; i < n; ++i) {
    out[4 * i] = truncnormal_from_word(w0[i], scale);
    out[4 * i + 1] = truncnormal_from_word(w1[i], scale);
    out[4 * i + 2] = truncnormal_from_word(w2[i], scale);
    out[4 * i + 3] = truncnormal_from_word(w3[i], scale);
  }
}

uint64_t groups_of(uint64_t block_size, uint32_t group) { return (block_size + group - 1) / group; }

void check_block_size(Basis basis, uint64_t block_size) {
  if (block_size == 0) throw std::invalid_argument("basis block_size = 0; allowed: >= 1");
  const uint64_t groups = groups_of(block_size, basis_group_size(basis));
  if (groups > (uint64_t{1} << 32))
    throw std::invalid_argument("basis block_size = " + std::to_string(block_size) + " too large for " +
                                std::string(to_string(basis)) + ": allowed <= 2^32 groups of " +
                                std::to_string(basis_group_size(basis)) + " coordinates");
}

// The truncated second moment ratio ρ(u) = u·N(u)/D(u), u = a², where
// N(u) = Σ (−u/2)^n / (n!(2n+3)) and D(u) = Σ (−u/2)^n / (n!(2n+1)) are ∫_0^a x² e^{−x²/2} / a³ and
// ∫_0^a e^{−x²/2} / a expanded termwise: no cancellation, converges in a few terms for u ≤ 1.
double truncnormal_variance(double u) {
  double numerator = 0.0, denominator = 0.0, power = 1.0;  // power = (−u/2)^n / n!
  for (int n = 0; n < 60; ++n) {
    numerator += power / (2 * n + 3);
    denominator += power / (2 * n + 1);
    power *= -u / 2.0 / (n + 1);
    if (std::abs(power) < 1e-20) break;
  }
  return u * numerator / denominator;
}

}  // namespace

// ---- Basis kinds ----

Basis parse_basis(std::string_view name) {
  if (name == "rademacher") return Basis::rademacher;
  if (name == "gaussian") return Basis::gaussian;
  if (name == "truncnormal") return Basis::truncnormal;
  throw std::invalid_argument("basis '" + std::string(name) + "' unknown; allowed: rademacher, gaussian, truncnormal");
}

std::string_view to_string(Basis basis) {
  switch (basis) {
    case Basis::rademacher: return "rademacher";
    case Basis::gaussian: return "gaussian";
    case Basis::truncnormal: return "truncnormal";
  }
  throw std::invalid_argument("basis value " + std::to_string(static_cast<int>(basis)) + " is not a Basis");
}

uint32_t basis_group_size(Basis basis) { return basis == Basis::rademacher ? kRademacherGroup : kFloatGroup; }

double basis_variance(Basis basis, uint64_t block_size) {
  if (block_size == 0) throw std::invalid_argument("basis_variance: block_size = 0; allowed: >= 1");
  if (basis != Basis::truncnormal) return 1.0;
  return truncnormal_variance(1.0 / static_cast<double>(block_size));
}

float erfinv_central(float x) {
  if (!(std::abs(x) <= 0.7f))
    throw std::invalid_argument("erfinv_central(" + std::to_string(x) + "): allowed |x| <= 0.7");
  return erfinv_central_inline(x);
}

// ---- BasisGenerator ----

BasisGenerator::BasisGenerator(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint64_t block_size)
    : basis_(basis), round_(round), block_(block), group_(basis_group_size(basis)), trunc_scale_(0.0f) {
  check_block_size(basis, block_size);
  const auto key = ferret::philox_key(splitmix64(seed));
  key0_ = key[0];
  key1_ = key[1];
  if (basis == Basis::truncnormal) {
    const double a = 1.0 / std::sqrt(static_cast<double>(block_size));
    trunc_scale_ = static_cast<float>(std::erf(a / std::sqrt(2.0)));
  }
}

// The sign words of a rademacher tile: word i serves coordinates j0 + 32i .. j0 + 32i + 31.
void BasisGenerator::rademacher_words(uint32_t k, uint64_t j0, uint64_t n, uint32_t* words) const {
  alignas(64) uint32_t w0[kMaxTile / kRademacherGroup], w1[kMaxTile / kRademacherGroup],
      w2[kMaxTile / kRademacherGroup], w3[kMaxTile / kRademacherGroup];
  const uint64_t calls = (n + kRademacherGroup - 1) / kRademacherGroup;
  philox_words({key0_, key1_}, static_cast<uint32_t>(j0 / kRademacherGroup), k, block_, round_, calls, w0, w1, w2, w3);
  for (uint64_t c = 0; c < calls; ++c) {
    words[4 * c] = w0[c];
    words[4 * c + 1] = w1[c];
    words[4 * c + 2] = w2[c];
    words[4 * c + 3] = w3[c];
  }
}

void BasisGenerator::group_words16(uint32_t g, uint32_t k0, uint32_t (&words)[4][16]) const {
  for (uint32_t i = 0; i < 16; ++i) {
    const auto w = philox4x32_10({g, k0 + i, block_, round_}, {key0_, key1_});
    for (int q = 0; q < 4; ++q) words[q][i] = w[q];
  }
}

void BasisGenerator::generate(uint32_t k, uint64_t j0, uint64_t n, float* out) const {
  if (basis_ == Basis::rademacher) {
    alignas(64) uint32_t words[kMaxTile / 32];
    rademacher_words(k, j0, n, words);
    rademacher_from_words(words, (n + 31) / 32, out);
    return;
  }
  alignas(64) uint32_t w0[kMaxCallsPerTile], w1[kMaxCallsPerTile], w2[kMaxCallsPerTile], w3[kMaxCallsPerTile];
  const uint64_t calls = (n + group_ - 1) / group_;
  philox_words({key0_, key1_}, static_cast<uint32_t>(j0 / group_), k, block_, round_, calls, w0, w1, w2, w3);
  if (basis_ == Basis::gaussian)
    gaussian_from_words(w0, w1, w2, w3, calls, out);
  else
    truncnormal_from_words(w0, w1, w2, w3, calls, trunc_scale_, out);
}

// Rademacher entries are ±1, so gamma·v is gamma with its sign bit flipped by the entry's bit, and
// acc + that is exactly fma(gamma, v, acc): the fused loop never materializes v.
void BasisGenerator::accumulate(uint32_t k, uint64_t j0, uint64_t n, float gamma, float* __restrict acc) const {
  if (basis_ == Basis::rademacher) {
    alignas(64) uint32_t words[kMaxTile / 32];
    rademacher_words(k, j0, n, words);
    const uint32_t g = std::bit_cast<uint32_t>(gamma);
    const uint64_t full = n / 32;
    for (uint64_t i = 0; i < full; ++i) {
      const uint32_t w = words[i];
      for (uint32_t b = 0; b < 32; ++b) acc[32 * i + b] += std::bit_cast<float>(g ^ sign_bit(w, b));
    }
    for (uint64_t j = 32 * full; j < n; ++j)
      acc[j] += std::bit_cast<float>(g ^ sign_bit(words[j / 32], j % 32));
    return;
  }
  alignas(64) float v[kMaxTile];
  generate(k, j0, n, v);
  for (uint64_t i = 0; i < n; ++i) acc[i] = std::fma(gamma, v[i], acc[i]);
}

// Fixed summation order: entry i goes to float lane i % 64 (fma / sign-flipped add), the 64 lanes are
// then added in double in lane order. Independent lanes let the loop vectorize without reassociation.
double BasisGenerator::dot(uint32_t k, uint64_t j0, uint64_t n, const float* __restrict x) const {
  constexpr uint64_t kLanes = 64;
  float lanes[kLanes] = {};
  uint64_t i = 0;
  if (basis_ == Basis::rademacher) {
    alignas(64) uint32_t words[kMaxTile / 32];
    rademacher_words(k, j0, n, words);
    for (; i + kLanes <= n; i += kLanes) {
      const uint32_t low = words[i / 32], high = words[i / 32 + 1];
      for (uint32_t b = 0; b < 32; ++b)
        lanes[b] += std::bit_cast<float>(std::bit_cast<uint32_t>(x[i + b]) ^ sign_bit(low, b));
      for (uint32_t b = 0; b < 32; ++b)
        lanes[32 + b] += std::bit_cast<float>(std::bit_cast<uint32_t>(x[i + 32 + b]) ^ sign_bit(high, b));
    }
    for (; i < n; ++i)
      lanes[i % kLanes] += std::bit_cast<float>(std::bit_cast<uint32_t>(x[i]) ^ sign_bit(words[i / 32], i % 32));
  } else {
    alignas(64) float v[kMaxTile];
    generate(k, j0, n, v);
    for (; i + kLanes <= n; i += kLanes)
      for (uint64_t l = 0; l < kLanes; ++l) lanes[l] = std::fma(x[i + l], v[i + l], lanes[l]);
    for (; i < n; ++i) lanes[i % kLanes] = std::fma(x[i], v[i], lanes[i % kLanes]);
  }
  double sum = 0.0;
  for (float lane : lanes) sum += lane;
  return sum;
}

void fill_basis(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint32_t k, uint64_t j0,
                uint64_t block_size, std::span<float> out) {
  check_block_size(basis, block_size);
  if (j0 > block_size || out.size() > block_size - j0)
    throw std::invalid_argument("fill_basis: range [" + std::to_string(j0) + ", " + std::to_string(j0 + out.size()) +
                                ") leaves the block; allowed within [0, block_size = " + std::to_string(block_size) + ")");
  const BasisGenerator generator(basis, seed, round, block, block_size);
  const uint64_t group = generator.group_size();
  const uint64_t end = j0 + out.size();
  alignas(64) float tile[BasisGenerator::kMaxTile];
  // Tiles start at group boundaries; each contributes its overlap with [j0, end).
  for (uint64_t start = j0 - j0 % group; start < end; start += BasisGenerator::kMaxTile) {
    const uint64_t n = std::min<uint64_t>(BasisGenerator::kMaxTile, end - start);
    generator.generate(k, start, n, tile);
    const uint64_t from = std::max(start, j0);
    std::copy(tile + (from - start), tile + n, out.begin() + static_cast<std::ptrdiff_t>(from - j0));
  }
}

}  // namespace ferret
