// Philox known answers, the documented coordinate -> counter mapping, chunking/thread invariance,
// the distributions of the three bases, basis_variance, and CounterRng.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <set>
#include <vector>

#include "random/basis.hpp"
#include "random/counter_rng.hpp"

namespace ferret {
namespace {

constexpr Basis kAllBases[] = {Basis::rademacher, Basis::gaussian, Basis::truncnormal};

std::vector<float> basis_vector(Basis b, uint64_t seed, uint32_t r, uint32_t l, uint32_t k, uint64_t d) {
  std::vector<float> v(d);
  fill_basis(b, seed, r, l, k, 0, d, v);
  return v;
}

double mean_of(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / static_cast<double>(v.size());
}

double second_moment(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s / static_cast<double>(v.size());
}

// Inverse of erf in double by Newton's method (reference for truncnormal).
double erfinv_reference(double y) {
  double x = 0.0;
  for (int i = 0; i < 60; ++i) x -= (std::erf(x) - y) / (2.0 / std::sqrt(std::numbers::pi) * std::exp(-x * x));
  return x;
}

// ---- Philox ----

TEST(Philox, MatchesRandom123KnownAnswers) {
  using W = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, Splitmix64IsTheReferenceFinalizer) {
  // First outputs of the reference SplitMix64 generator seeded with 0 (state += golden gamma).
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
  EXPECT_NE(splitmix64(1), splitmix64(2));
}

// ---- The documented mapping (what a CUDA kernel must reproduce) ----

TEST(BasisMapping, RademacherUsesOneBitPerEntryOf128EntryGroups) {
  const uint64_t seed = 987654321, d = 1000;
  const uint32_t r = 3, l = 7, k = 11;
  const auto v = basis_vector(Basis::rademacher, seed, r, l, k, d);
  const uint64_t key64 = splitmix64(seed);
  const std::array<uint32_t, 2> key{static_cast<uint32_t>(key64), static_cast<uint32_t>(key64 >> 32)};
  for (uint64_t j = 0; j < d; ++j) {
    const auto w = philox4x32_10({static_cast<uint32_t>(j / 128), k, l, r}, key);
    const uint32_t bit = (w[(j % 128) / 32] >> (j % 32)) & 1u;
    ASSERT_EQ(v[j], bit ? -1.0f : 1.0f) << "j = " << j;
  }
}

TEST(BasisMapping, GaussianIsBoxMullerOnWordPairs) {
  const uint64_t seed = 5, d = 4099;
  const uint32_t r = 1, l = 2, k = 3;
  const auto v = basis_vector(Basis::gaussian, seed, r, l, k, d);
  const uint64_t key64 = splitmix64(seed);
  const std::array<uint32_t, 2> key{static_cast<uint32_t>(key64), static_cast<uint32_t>(key64 >> 32)};
  for (uint64_t j = 0; j < d; ++j) {
    const auto w = philox4x32_10({static_cast<uint32_t>(j / 4), k, l, r}, key);
    const uint32_t pair = (j % 4) / 2;
    const double u = (2.0 * (w[2 * pair] >> 9) + 1.0) / 16777216.0;
    const double theta = 2.0 * std::numbers::pi * (w[2 * pair + 1] >> 8) / 16777216.0;
    const double radius = std::sqrt(-2.0 * std::log(u));
    const double expected = j % 2 == 0 ? radius * std::cos(theta) : radius * std::sin(theta);
    ASSERT_NEAR(v[j], expected, 2e-6 * std::max(1.0, radius)) << "j = " << j;
  }
}

TEST(Philox, BulkWordsEqualOneCallEach) {
  // n = 150: two 64-counter vector batches, a 16-counter one and a masked tail of 6.
  const std::array<uint32_t, 2> key{0x12345678u, 0x9ABCDEF0u};
  const uint32_t first = 0xFFFFFFF0u;  // the counter wraps inside the run
  std::vector<uint32_t> w0(150), w1(150), w2(150), w3(150);
  philox_words(key, first, 7, 8, 9, 150, w0.data(), w1.data(), w2.data(), w3.data());
  for (uint32_t i = 0; i < 150; ++i) {
    const auto w = philox4x32_10({first + i, 7, 8, 9}, key);
    ASSERT_EQ(w0[i], w[0]) << i;
    ASSERT_EQ(w1[i], w[1]) << i;
    ASSERT_EQ(w2[i], w[2]) << i;
    ASSERT_EQ(w3[i], w[3]) << i;
  }
}

TEST(BasisMapping, TruncnormalIsInverseCdfOfOneWord) {
  const uint64_t seed = 77;
  // Both transforms: Giles' erfinv (d < 255) and the Taylor series (d ≥ 255), at and near the switch.
  for (uint64_t d : {uint64_t{2}, uint64_t{10}, uint64_t{254}, uint64_t{255}, uint64_t{3000}, uint64_t{200000}}) {
    const auto v = basis_vector(Basis::truncnormal, seed, 9, 0, 4, d);
    const uint64_t key64 = splitmix64(seed);
    const std::array<uint32_t, 2> key{static_cast<uint32_t>(key64), static_cast<uint32_t>(key64 >> 32)};
    const double a = 1.0 / std::sqrt(static_cast<double>(d));
    const double scale = std::erf(a / std::sqrt(2.0));
    for (uint64_t j = 0; j < d; ++j) {
      const auto w = philox4x32_10({static_cast<uint32_t>(j / 4), 4, 0, 9}, key);
      const double t = (2.0 * (w[j % 4] >> 8) + 1.0 - 16777216.0) / 16777216.0;
      const double expected = std::sqrt(2.0) * erfinv_reference(t * scale);
      ASSERT_NEAR(v[j], expected, 1e-6 * a) << "d = " << d << ", j = " << j;
    }
  }
}

TEST(BasisMapping, ErfinvCentralIsAccurate) {
  double worst = 0;
  for (int i = -700; i <= 700; ++i) {
    const float x = static_cast<float>(i) / 1000.0f;
    if (x == 0.0f) continue;
    worst = std::max(worst, std::abs(erfinv_central(x) / erfinv_reference(x) - 1.0));
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_THROW(erfinv_central(0.9f), std::invalid_argument);
}

// ---- Purity: any chunking, any threads ----

TEST(FillBasis, IndependentOfChunking) {
  const uint64_t d = 20000;
  for (Basis b : kAllBases) {
    const auto whole = basis_vector(b, 1234, 5, 6, 7, d);
    std::vector<float> pieces(d);
    // Odd, unaligned cut points: inside groups, across tiles.
    const std::vector<uint64_t> cuts{0, 1, 3, 4, 127, 130, 131, 4095, 4097, 9001, 13000, 19999, d};
    for (size_t i = 0; i + 1 < cuts.size(); ++i)
      fill_basis(b, 1234, 5, 6, 7, cuts[i], d, std::span<float>(pieces).subspan(cuts[i], cuts[i + 1] - cuts[i]));
    EXPECT_EQ(whole, pieces) << to_string(b);
  }
}

TEST(FillBasis, IndependentOfThreadCount) {
  const uint64_t d = 100000, piece = 333;
  for (Basis b : kAllBases) {
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 4}) {
      omp_set_num_threads(threads);
      std::vector<float> v(d);
#pragma omp parallel for schedule(dynamic, 1)
      for (int64_t start = 0; start < static_cast<int64_t>(d); start += piece) {
        const uint64_t n = std::min<uint64_t>(piece, d - start);
        fill_basis(b, 42, 1, 2, 3, start, d, std::span<float>(v).subspan(start, n));
      }
      results.push_back(std::move(v));
    }
    omp_set_num_threads(omp_get_num_procs());
    EXPECT_EQ(results[0], results[1]) << to_string(b);
    EXPECT_EQ(results[0], results[2]) << to_string(b);
  }
}

TEST(FillBasis, EveryIndexSelectsItsOwnStream) {
  const uint64_t d = 4096;
  for (Basis b : kAllBases) {
    const auto base = basis_vector(b, 10, 20, 30, 40, d);
    const std::vector<std::vector<float>> others{
        basis_vector(b, 11, 20, 30, 40, d), basis_vector(b, 10, 21, 30, 40, d),
        basis_vector(b, 10, 20, 31, 40, d), basis_vector(b, 10, 20, 30, 41, d)};
    for (const auto& other : others) {
      double dot = 0;
      for (uint64_t j = 0; j < d; ++j) dot += static_cast<double>(base[j]) * other[j];
      const double corr = dot / d / second_moment(base);
      EXPECT_LT(std::abs(corr), 5.0 / std::sqrt(static_cast<double>(d))) << to_string(b);
      EXPECT_NE(base, other) << to_string(b);
    }
  }
}

TEST(FillBasis, RejectsBadRanges) {
  std::vector<float> v(10);
  EXPECT_THROW(fill_basis(Basis::gaussian, 1, 0, 0, 0, 0, 0, v), std::invalid_argument);
  EXPECT_THROW(fill_basis(Basis::gaussian, 1, 0, 0, 0, 0, 9, v), std::invalid_argument);
  EXPECT_THROW(fill_basis(Basis::gaussian, 1, 0, 0, 0, 95, 100, v), std::invalid_argument);
  EXPECT_NO_THROW(fill_basis(Basis::gaussian, 1, 0, 0, 0, 90, 100, v));
  // 2^32 groups of 4 is the largest gaussian block.
  std::vector<float> one(1);
  EXPECT_THROW(fill_basis(Basis::gaussian, 1, 0, 0, 0, 0, (uint64_t{1} << 34) + 1, one), std::invalid_argument);
  EXPECT_NO_THROW(fill_basis(Basis::rademacher, 1, 0, 0, 0, 0, (uint64_t{1} << 34) + 1, one));
  try {
    fill_basis(Basis::gaussian, 1, 0, 0, 0, 95, 100, v);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("100"), std::string::npos) << e.what();
  }
}

// ---- Distributions ----

TEST(Distribution, RademacherIsExactlyPlusMinusOneWithMeanZero) {
  const uint64_t d = 1 << 20;
  const auto v = basis_vector(Basis::rademacher, 3, 0, 0, 0, d);
  for (float x : v) ASSERT_TRUE(x == 1.0f || x == -1.0f) << x;
  EXPECT_LT(std::abs(mean_of(v)), 5.0 / std::sqrt(static_cast<double>(d)));
  // Neighbouring bits are independent: P(v_j = v_{j+1}) ≈ 1/2.
  uint64_t same = 0;
  for (uint64_t j = 0; j + 1 < d; ++j) same += v[j] == v[j + 1];
  EXPECT_NEAR(static_cast<double>(same) / (d - 1), 0.5, 5.0 * 0.5 / std::sqrt(static_cast<double>(d)));
}

TEST(Distribution, GaussianMatchesStandardNormal) {
  const uint64_t d = 1 << 20;
  const auto v = basis_vector(Basis::gaussian, 4, 1, 2, 3, d);
  const double n = static_cast<double>(d);
  EXPECT_NEAR(mean_of(v), 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(second_moment(v), 1.0, 5.0 * std::sqrt(2.0 / n));
  double fourth = 0;
  for (float x : v) fourth += std::pow(static_cast<double>(x), 4);
  EXPECT_NEAR(fourth / n, 3.0, 5.0 * std::sqrt(96.0 / n));
  // Empirical CDF at a few points (catches a wrong sin/cos quadrant or radius).
  std::vector<float> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (double x : {-2.5, -1.0, -0.3, 0.0, 0.4, 1.5, 3.0}) {
    const double empirical = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin()) / n;
    EXPECT_NEAR(empirical, 0.5 * std::erfc(-x / std::sqrt(2.0)), 2.5e-3) << "x = " << x;
  }
  // Even and odd entries (cos and sin of the same angle) are uncorrelated.
  double cross = 0;
  for (uint64_t j = 0; j < d; j += 2) cross += static_cast<double>(v[j]) * v[j + 1];
  EXPECT_NEAR(cross / (n / 2), 0.0, 5.0 / std::sqrt(n / 2));
}

TEST(Distribution, TruncnormalStaysInsideAndHasTheStatedVariance) {
  for (uint64_t d : {uint64_t{1}, uint64_t{4}, uint64_t{100}, uint64_t{1} << 20}) {
    const uint64_t n = 1 << 20;  // entries sampled from several basis vectors when d is small
    std::vector<float> v;
    v.reserve(n);
    for (uint32_t k = 0; v.size() < n; ++k) {
      const auto column = basis_vector(Basis::truncnormal, 8, 0, 1, k, d);
      v.insert(v.end(), column.begin(), column.end());
    }
    const float a = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    for (float x : v) ASSERT_LE(std::abs(x), a) << "d = " << d;
    const double rho = basis_variance(Basis::truncnormal, d);
    EXPECT_NEAR(second_moment(v) / rho, 1.0, 0.01) << "d = " << d;
    EXPECT_NEAR(mean_of(v), 0.0, 5.0 * a / std::sqrt(static_cast<double>(v.size()))) << "d = " << d;
  }
}

// ---- basis_variance ----

TEST(BasisVariance, MatchesClosedForm) {
  EXPECT_EQ(basis_variance(Basis::rademacher, 1000), 1.0);
  EXPECT_EQ(basis_variance(Basis::gaussian, 7), 1.0);
  for (uint64_t d : {uint64_t{1}, uint64_t{2}, uint64_t{10}, uint64_t{100}, uint64_t{1000}}) {
    const double a = 1.0 / std::sqrt(static_cast<double>(d));
    const double phi = std::exp(-a * a / 2) / std::sqrt(2 * std::numbers::pi);
    const double closed = 1.0 - 2.0 * a * phi / std::erf(a / std::sqrt(2.0));
    EXPECT_NEAR(basis_variance(Basis::truncnormal, d) / closed, 1.0, 1e-9) << "d = " << d;
  }
  EXPECT_NEAR(10 * basis_variance(Basis::truncnormal, 10), 0.3289, 1e-4);  // reference doc §1.1
  // ρ ≈ 1/(3d) − 2/(45 d²): stable where the closed form cancels catastrophically.
  for (double d : {1e6, 1e9, 1e12}) {
    const double expected = 1.0 / (3 * d) - 2.0 / (45 * d * d);
    EXPECT_NEAR(basis_variance(Basis::truncnormal, static_cast<uint64_t>(d)) / expected, 1.0, 1e-12);
  }
  EXPECT_THROW(basis_variance(Basis::truncnormal, 0), std::invalid_argument);
}

TEST(BasisNames, RoundTripAndRejectUnknown) {
  for (Basis b : kAllBases) EXPECT_EQ(parse_basis(to_string(b)), b);
  try {
    parse_basis("normal");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("normal"), std::string::npos);
    EXPECT_NE(what.find("rademacher, gaussian, truncnormal"), std::string::npos) << what;
  }
}

// ---- CounterRng ----

TEST(CounterRng, ReproducibleAndKeyedByEveryArgument) {
  auto draw = [](CounterRng rng) {
    std::vector<uint64_t> out(9);
    for (auto& x : out) x = rng.next_u64();
    return out;
  };
  const auto base = draw(CounterRng(1, 2, 3, 4));
  EXPECT_EQ(base, draw(CounterRng(1, 2, 3, 4)));
  EXPECT_NE(base, draw(CounterRng(9, 2, 3, 4)));
  EXPECT_NE(base, draw(CounterRng(1, 9, 3, 4)));
  EXPECT_NE(base, draw(CounterRng(1, 2, 9, 4)));
  EXPECT_NE(base, draw(CounterRng(1, 2, 3, 9)));
  EXPECT_EQ(std::set<uint64_t>(base.begin(), base.end()).size(), base.size());
  // Output i is Philox word pair i of counter {i/2, 0, a, b} under the domain's key.
  const uint64_t key64 = splitmix64(1 ^ (0xD1B54A32D192ED03ull * 3));
  const auto w = philox4x32_10({1, 0, 3, 4}, {static_cast<uint32_t>(key64), static_cast<uint32_t>(key64 >> 32)});
  EXPECT_EQ(base[2], (uint64_t{w[1]} << 32) | w[0]);
  EXPECT_EQ(base[3], (uint64_t{w[3]} << 32) | w[2]);
}

TEST(CounterRng, DomainsDoNotShareTheBasisKey) {
  // Same seed: the basis stream of block a, k b, round 0 vs CounterRng(seed, domain, a, b).
  const uint64_t seed = 17;
  for (uint32_t domain : {0u, 1u, 2u}) {
    CounterRng rng(seed, domain, 0, 0);
    const uint64_t key64 = splitmix64(seed);
    const auto w = philox4x32_10({0, 0, 0, 0}, {static_cast<uint32_t>(key64), static_cast<uint32_t>(key64 >> 32)});
    EXPECT_NE(rng.next_u64(), (uint64_t{w[1]} << 32) | w[0]);
  }
}

TEST(CounterRng, BelowIsInRangeAndUniform) {
  CounterRng rng(5, 1, 0, 0);
  constexpr uint64_t n = 10, draws = 100000;
  std::vector<uint64_t> count(n, 0);
  for (uint64_t i = 0; i < draws; ++i) {
    const uint64_t x = rng.below(n);
    ASSERT_LT(x, n);
    ++count[x];
  }
  double chi2 = 0;
  for (uint64_t c : count) chi2 += std::pow(static_cast<double>(c) - draws / n, 2) / (draws / n);
  EXPECT_LT(chi2, 30.0);  // 9 degrees of freedom: p ≈ 4e-4
  EXPECT_EQ(rng.below(1), 0u);
  const uint64_t huge = (uint64_t{1} << 63) + 12345;  // rejection is frequent here
  for (int i = 0; i < 100; ++i) ASSERT_LT(rng.below(huge), huge);
  EXPECT_THROW(rng.below(0), std::invalid_argument);
}

TEST(CounterRng, UniformIsInUnitInterval) {
  CounterRng rng(6, 2, 1, 1);
  double sum = 0;
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / draws, 0.5, 5.0 * std::sqrt(1.0 / 12 / draws));
}

}  // namespace
}  // namespace ferret
