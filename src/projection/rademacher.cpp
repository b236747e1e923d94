// defines: The fused ±1 kernels (math and rounding contract in rademacher.hpp). Two builds of the same
// operation sequence: AVX-512 intrinsics when the compiler targets AVX-512 (-march=native on an
// AVX-512 machine), plain C++ otherwise. Both give the same bits.
#include "projection/rademacher.hpp"

#include <algorithm>
#include <cmath>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include "random/philox_avx512.hpp"
#define FERRET_RADEMACHER_AVX512 1
#endif

namespace ferret {
namespace {

constexpr uint32_t kGroup = 128;  // coordinates per Philox call (4 words × 32 sign bits)
constexpr uint32_t kBatch = 16;   // bases per group_words16 call, one per lane
static_assert(kRademacherTile % kGroup == 0 && kGroup % kRademacherLanes == 0);

using Words = uint32_t[4][kBatch];

// b_jk for coordinate c (0..127) of the group, basis lane i: bit c % 32 of word c / 32.
inline bool sign_set(const Words& w, uint32_t c, uint32_t i) { return (w[c / 32][i] >> (c % 32)) & 1u; }

#ifdef FERRET_RADEMACHER_AVX512
// ---- Philox, 16 bases per vector (philox_avx512.hpp) -------------------------------------------------
// Output: batch b's words as 16-bit halves, half (q, lane i, h) at out[b·128 + 32q + 2i + h]
// (little-endian lanes), which is where the masks are loaded from.
inline constexpr uint32_t kHalvesPerBatch = 128;

// Lane layouts of a batch: `wide` = 16 bases of one group (lane i: g, k0 + i); `paired` = 8 bases of
// two groups, for short batches (lane i: g + i / 8, k0 + i % 8), so no lane is wasted when K_l ≤ 8.
enum class Lanes { wide, paired };

template <int N>
inline void philox_batches(const BasisGenerator& gen, Lanes layout, const uint32_t* g, const uint32_t* k0,
                           uint16_t* out) {
  __m512i words[N][4];
  if (layout == Lanes::wide) {
    simd::philox16_broadcast_g<N>(g, k0, gen.block_index(), gen.round_index(), gen.philox_key(), words);
  } else {  // Lanes::paired: general counters (the wide layout's broadcast g allows the shortcut)
    const __m512i lane = simd::lane_index();
    const __m512i g_step = _mm512_srli_epi32(lane, 3);
    const __m512i k_step = _mm512_and_si512(lane, _mm512_set1_epi32(7));
    __m512i x0[N], x1[N];
    for (int b = 0; b < N; ++b) {
      x0[b] = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(g[b])), g_step);
      x1[b] = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(k0[b])), k_step);
    }
    simd::philox16<N>(x0, x1, gen.block_index(), gen.round_index(), gen.philox_key(), words);
  }
  for (int b = 0; b < N; ++b)
    for (int q = 0; q < 4; ++q) _mm512_storeu_si512(out + b * kHalvesPerBatch + 32 * q, words[b][q]);
}

// Batches i < n of the lists, four at a time.
inline void philox_batch_list(const BasisGenerator& gen, Lanes layout, const uint32_t* g, const uint32_t* k0,
                              uint32_t n, uint16_t* out) {
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4) philox_batches<4>(gen, layout, g + i, k0 + i, out + i * kHalvesPerBatch);
  if (n - i >= 2) philox_batches<2>(gen, layout, g + i, k0 + i, out + i * kHalvesPerBatch), i += 2;
  if (n - i == 1) philox_batches<1>(gen, layout, g + i, k0 + i, out + i * kHalvesPerBatch);
}

// Where basis lane i's halves of group g (counted from the list's first group) start.
inline const uint16_t* group_halves(const uint16_t* halves, Lanes layout, uint32_t g) {
  return layout == Lanes::wide ? halves + g * kHalvesPerBatch
                               : halves + (g / 2) * kHalvesPerBatch + 16 * (g % 2);  // lanes 8.. = group + 1
}

// The mask of coordinates 16m .. 16m + 15 of basis lane i from a batch's halves; `lane_halves` is
// batch + 2i. Loaded straight into a mask register (kmovw k, m16).
inline __mmask16 batch_mask(const uint16_t* lane_halves, uint32_t m) {
  // GCC turns _load_mask16 into a GPR load + kmovw (two uops, one on the port the adds use).
  __mmask16 k;
  asm("kmovw %1, %0" : "=k"(k) : "m"(lane_halves[32 * (m / 2) + (m % 2)]));
  return k;
}
#endif

// ---- reconstruction -------------------------------------------------------------------------------

// Coordinates [c_begin, c_end) of group g (block coordinates 128g + c), one at a time.
void reconstruct_group_scalar(const BasisGenerator& gen, uint32_t g, uint32_t c_begin, uint32_t c_end,
                              const float* gamma, uint32_t k_l, float sum_gamma, float alpha, float* out) {
  float acc[kGroup];
  std::fill(acc, acc + kGroup, sum_gamma);
  alignas(64) Words w;
  for (uint32_t k0 = 0; k0 < k_l; k0 += kBatch) {
    gen.group_words16(g, k0, w);
    const uint32_t nb = std::min(kBatch, k_l - k0);
    for (uint32_t i = 0; i < nb; ++i) {
      const float twice = 2.0f * gamma[k0 + i];
      if (twice == 0.0f) continue;
      for (uint32_t c = c_begin; c < c_end; ++c)
        if (sign_set(w, c, i)) acc[c] -= twice;
    }
  }
  float* o = out + uint64_t{g} * kGroup;
  for (uint32_t c = c_begin; c < c_end; ++c) o[c] = std::fma(alpha, acc[c], o[c]);
}

#ifdef FERRET_RADEMACHER_AVX512
// A whole group: its 128 accumulators stay in 8 registers while all K_l bases pass; basis k's step
// on coordinates 16m .. 16m + 15 is one masked subtract whose mask is 16 of its sign bits. The
// words of up to kBasesPerPass bases are generated first (no call, no spill in the add loop).
constexpr uint32_t kBasesPerPass = 512;  // 32 batches, 8 KiB of words

void reconstruct_group_avx512(const BasisGenerator& gen, uint32_t g, const float* gamma, uint32_t k_l,
                              float sum_gamma, float alpha, float* out) {
  alignas(64) uint16_t halves[kBasesPerPass / kBatch * kHalvesPerBatch];
  uint32_t gs[kBasesPerPass / kBatch], ks[kBasesPerPass / kBatch];
  // Eight named accumulators, not an array: GCC otherwise writes the array back every iteration.
  __m512 a0 = _mm512_set1_ps(sum_gamma), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (uint32_t kp = 0; kp < k_l; kp += kBasesPerPass) {
    const uint32_t nk = std::min(kBasesPerPass, k_l - kp);
    const uint32_t batches = (nk + kBatch - 1) / kBatch;
    for (uint32_t b = 0; b < batches; ++b) gs[b] = g, ks[b] = kp + b * kBatch;
    philox_batch_list(gen, Lanes::wide, gs, ks, batches, halves);
    for (uint32_t k = 0; k < nk; ++k) {
      const float twice = 2.0f * gamma[kp + k];
      if (twice == 0.0f) continue;
      const __m512 t = _mm512_set1_ps(twice);
      const uint16_t* h = halves + (k / kBatch) * kHalvesPerBatch + 2 * (k % kBatch);
      a0 = _mm512_mask_sub_ps(a0, batch_mask(h, 0), a0, t);
      a1 = _mm512_mask_sub_ps(a1, batch_mask(h, 1), a1, t);
      a2 = _mm512_mask_sub_ps(a2, batch_mask(h, 2), a2, t);
      a3 = _mm512_mask_sub_ps(a3, batch_mask(h, 3), a3, t);
      a4 = _mm512_mask_sub_ps(a4, batch_mask(h, 4), a4, t);
      a5 = _mm512_mask_sub_ps(a5, batch_mask(h, 5), a5, t);
      a6 = _mm512_mask_sub_ps(a6, batch_mask(h, 6), a6, t);
      a7 = _mm512_mask_sub_ps(a7, batch_mask(h, 7), a7, t);
    }
  }
  float* o = out + uint64_t{g} * kGroup;
  const __m512 a = _mm512_set1_ps(alpha);
  const __m512 acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
  for (uint32_t m = 0; m < 8; ++m)
    _mm512_storeu_ps(o + 16 * m, _mm512_fmadd_ps(a, acc[m], _mm512_loadu_ps(o + 16 * m)));
}

// Two whole groups g, g + 1 when K_l ≤ 8: one Philox batch serves both (Lanes::paired), and the two
// groups' 16 accumulators share each basis' broadcast.
void reconstruct_pair_avx512(const BasisGenerator& gen, uint32_t g, const float* gamma, uint32_t k_l,
                             float sum_gamma, float alpha, float* out) {
  alignas(64) uint16_t halves[kHalvesPerBatch];
  const uint32_t gs[1] = {g}, ks[1] = {0};
  philox_batches<1>(gen, Lanes::paired, gs, ks, halves);
  __m512 a[16];
  for (auto& x : a) x = _mm512_set1_ps(sum_gamma);
  for (uint32_t k = 0; k < k_l; ++k) {
    const float twice = 2.0f * gamma[k];
    if (twice == 0.0f) continue;
    const __m512 t = _mm512_set1_ps(twice);
    const uint16_t* h = halves + 2 * k;  // group g; group g + 1 is 16 halves further (lanes 8..15)
    for (uint32_t m = 0; m < 8; ++m) {
      a[m] = _mm512_mask_sub_ps(a[m], batch_mask(h, m), a[m], t);
      a[8 + m] = _mm512_mask_sub_ps(a[8 + m], batch_mask(h + 16, m), a[8 + m], t);
    }
  }
  float* o = out + uint64_t{g} * kGroup;
  const __m512 al = _mm512_set1_ps(alpha);
  for (uint32_t m = 0; m < 16; ++m)
    _mm512_storeu_ps(o + 16 * m, _mm512_fmadd_ps(al, a[m], _mm512_loadu_ps(o + 16 * m)));
}
#endif

// ---- projection -------------------------------------------------------------------------------------

// Float lanes of one tile: lanes[i][l] for basis lane i of the current batch.
struct TileLanes {
  alignas(64) float m[kBatch][kRademacherLanes];
};

// Coordinates [c_begin, c_end) of group g into the batch's lanes (lane = (j − tile start) % 16, and
// tiles start at multiples of 128, so lane = c % 16).
void project_group_scalar(const Words& w, uint32_t c_begin, uint32_t c_end, const float* x, TileLanes& lanes) {
  for (uint32_t i = 0; i < kBatch; ++i)
    for (uint32_t c = c_begin; c < c_end; ++c)
      if (sign_set(w, c, i)) lanes.m[i][c % kRademacherLanes] += x[c];
}

double lanes_sum(const float* lanes) {
  double s = 0.0;
  for (uint32_t l = 0; l < kRademacherLanes; ++l) s += lanes[l];
  return s;
}

// T of one tile of n coordinates (16 float lanes, then double in lane order).
double tile_total(const float* x, uint64_t n) {
  alignas(64) float lanes[kRademacherLanes] = {};
  uint64_t j = 0;
#ifdef FERRET_RADEMACHER_AVX512
  __m512 t = _mm512_setzero_ps();
  for (; j + kRademacherLanes <= n; j += kRademacherLanes) t = _mm512_add_ps(t, _mm512_loadu_ps(x + j));
  _mm512_store_ps(lanes, t);
#endif
  for (; j < n; ++j) lanes[j % kRademacherLanes] += x[j];
  return lanes_sum(lanes);
}

#ifdef FERRET_RADEMACHER_AVX512
// The first W bases of a batch over `full` whole groups (x = their first coordinate): W accumulators
// in registers while each 16-coordinate vector of Δ is added under W masks. W < 16 when the batch is
// short (K_l mod 16, or K_l < 16: common with many small blocks), so no adds are spent on absent
// bases; lanes.m rows W .. 15 are zeroed.
template <uint32_t W>
void project_groups_avx512(const uint16_t* halves, Lanes layout, uint32_t full, const float* x, TileLanes& lanes) {
  __m512 acc[W];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (uint32_t g = 0; g < full; ++g) {
    const float* xg = x + uint64_t{g} * kGroup;
    const uint16_t* h = group_halves(halves, layout, g);
    for (uint32_t m = 0; m < 8; ++m) {
      const __m512 v = _mm512_loadu_ps(xg + 16 * m);
      for (uint32_t i = 0; i < W; ++i) acc[i] = _mm512_mask_add_ps(acc[i], batch_mask(h + 2 * i, m), acc[i], v);
    }
  }
  for (uint32_t i = 0; i < W; ++i) _mm512_store_ps(lanes.m[i], acc[i]);
  for (uint32_t i = W; i < kBatch; ++i) std::fill(lanes.m[i], lanes.m[i] + kRademacherLanes, 0.0f);
}
#endif

// One batch of up to 16 bases over one tile: partial[k0 + i] += T − 2 M_i.
void project_tile_batch(const BasisGenerator& gen, uint64_t tile_begin, uint64_t n, uint32_t k0, uint32_t nb,
                        const float* delta, double total, double* partial) {
  const uint32_t g_begin = static_cast<uint32_t>(tile_begin / kGroup);
  const uint32_t full = static_cast<uint32_t>(n / kGroup);
  const uint32_t rest = static_cast<uint32_t>(n % kGroup);
  TileLanes lanes;
  alignas(64) Words w;  // the partial group's words (and every group's, in the portable build)
#ifdef FERRET_RADEMACHER_AVX512
  // The words of all full groups of the tile first, then 16 bases' accumulators in registers while
  // each 16-coordinate vector of Δ is added under 16 masks.
  constexpr uint32_t kGroupsPerTile = kRademacherTile / kGroup;
  alignas(64) uint16_t halves[kGroupsPerTile * kHalvesPerBatch];
  uint32_t gs[kGroupsPerTile], ks[kGroupsPerTile];
  const Lanes layout = nb <= 8 ? Lanes::paired : Lanes::wide;
  const uint32_t batches = layout == Lanes::paired ? (full + 1) / 2 : full;
  for (uint32_t b = 0; b < batches; ++b) gs[b] = g_begin + (layout == Lanes::paired ? 2 * b : b), ks[b] = k0;
  philox_batch_list(gen, layout, gs, ks, batches, halves);
  const float* x = delta + tile_begin;
  if (nb <= 4)
    project_groups_avx512<4>(halves, layout, full, x, lanes);
  else if (nb <= 8)
    project_groups_avx512<8>(halves, layout, full, x, lanes);
  else
    project_groups_avx512<16>(halves, layout, full, x, lanes);
#else
  for (auto& row : lanes.m) std::fill(row, row + kRademacherLanes, 0.0f);
  for (uint32_t g = 0; g < full; ++g) {
    gen.group_words16(g_begin + g, k0, w);
    project_group_scalar(w, 0, kGroup, delta + tile_begin + uint64_t{g} * kGroup, lanes);
  }
#endif
  if (rest != 0) {  // the block's last, partial group
    gen.group_words16(g_begin + full, k0, w);
    project_group_scalar(w, 0, rest, delta + tile_begin + uint64_t{full} * kGroup, lanes);
  }
  for (uint32_t i = 0; i < nb; ++i) partial[k0 + i] += total - 2.0 * lanes_sum(lanes.m[i]);
}

}  // namespace

float rademacher_gamma_sum(const float* gamma, uint32_t k_l) {
  float s = 0.0f;
  for (uint32_t k = 0; k < k_l; ++k) s += gamma[k];
  return s;
}

void rademacher_project_range(const BasisGenerator& generator, uint64_t begin, uint64_t end, uint32_t k_l,
                              const float* delta, double* partial) {
  std::fill(partial, partial + k_l, 0.0);
  for (uint64_t tile = begin; tile < end; tile += kRademacherTile) {
    const uint64_t n = std::min(kRademacherTile, end - tile);
    const double total = tile_total(delta + tile, n);
    for (uint32_t k0 = 0; k0 < k_l; k0 += kBatch)
      project_tile_batch(generator, tile, n, k0, std::min(kBatch, k_l - k0), delta, total, partial);
  }
}

void rademacher_reconstruct_range(const BasisGenerator& generator, uint64_t begin, uint64_t end, const float* gamma,
                                  uint32_t k_l, float sum_gamma, float alpha, float* out) {
  const uint64_t g_end = (end + kGroup - 1) / kGroup;
  for (uint64_t g = begin / kGroup; g < g_end; ++g) {
    const auto gi = static_cast<uint32_t>(g);
    const uint32_t valid = static_cast<uint32_t>(std::min<uint64_t>(kGroup, end - g * kGroup));
#ifdef FERRET_RADEMACHER_AVX512
    if (k_l <= 8 && g + 1 < g_end && end - g * kGroup >= 2 * kGroup) {
      reconstruct_pair_avx512(generator, gi, gamma, k_l, sum_gamma, alpha, out);
      ++g;
      continue;
    }
    if (valid == kGroup) {
      reconstruct_group_avx512(generator, gi, gamma, k_l, sum_gamma, alpha, out);
      continue;
    }
#endif
    reconstruct_group_scalar(generator, gi, 0, valid, gamma, k_l, sum_gamma, alpha, out);
  }
}

}  // namespace ferret
