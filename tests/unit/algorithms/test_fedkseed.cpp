// FedKSeed's seed pool and replay (fedkseed.hpp), on plain float vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "algorithms/fedkseed.hpp"

namespace {

using namespace ferret;

Config pool_config(bool pro) {
  Config c;
  c.algorithm = AlgorithmKind::fedkseed;
  c.k = 16;
  c.lr = 0.01;
  c.seed = 5;
  c.fedkseed_pro = pro;
  return c;
}

const std::vector<ParamInfo> kParams{{"a", 1000}, {"b", 37}};  // d = 1037: not a multiple of any tile

std::vector<float> candidate(const Config& c, uint32_t k, uint64_t d) {
  std::vector<float> z(d);
  fill_basis(Basis::gaussian, c.seed, FedKSeedAlgorithm::kCandidateRound, 0, k, 0, d, z);
  return z;
}

TEST(FedKSeed, ReplayIsMinusLrTimesTheSeedsWeightedSum) {
  const Config c = pool_config(false);
  FedKSeedAlgorithm algo(c, kParams);
  const uint64_t d = 1037;
  std::vector<float> step(c.k, 0.0f);
  step[3] = 0.5f, step[7] = -2.0f, step[15] = 1.25f;
  std::vector<float> params(d, 1.0f), expected(d, 1.0f);
  algo.apply(step, params);
  for (uint32_t k : {3u, 7u, 15u}) {
    const auto z = candidate(c, k, d);
    for (uint64_t j = 0; j < d; ++j) expected[j] += -static_cast<float>(c.lr) * step[k] * z[j];
  }
  for (uint64_t j = 0; j < d; ++j) ASSERT_NEAR(params[j], expected[j], 1e-6) << j;
  EXPECT_NEAR(algo.decoded_norm(step), c.lr * std::sqrt(d * (0.25 + 4.0 + 1.5625)), 1e-6);  // lr is held as float
}

TEST(FedKSeed, AddCandidateIsTheGaussianOfThatSeed) {
  const Config c = pool_config(false);
  FedKSeedAlgorithm algo(c, kParams);
  std::vector<float> params(1037, 0.0f);
  algo.add_candidate(9, 2.0f, params);
  const auto z = candidate(c, 9, 1037);
  for (size_t j = 0; j < z.size(); ++j) ASSERT_FLOAT_EQ(params[j], 2.0f * z[j]);
  double mean = 0, sq = 0;
  for (float v : z) mean += v, sq += static_cast<double>(v) * v;
  EXPECT_NEAR(mean / 1037, 0.0, 0.15);
  EXPECT_NEAR(sq / 1037, 1.0, 0.15);
}

TEST(FedKSeed, UniformDrawsCoverThePoolDeterministically) {
  const Config c = pool_config(false);
  FedKSeedAlgorithm a(c, kParams), b(c, kParams);
  std::vector<int> hits(c.k, 0);
  for (uint32_t s = 0; s < 3200; ++s) {
    const uint32_t k = a.draw_candidate(2, 1, s);
    ASSERT_LT(k, static_cast<uint32_t>(c.k));
    ASSERT_EQ(k, b.draw_candidate(2, 1, s));
    ++hits[k];
  }
  for (int h : hits) EXPECT_NEAR(h, 200, 60);  // 3200 draws over 16 seeds: ±4 σ
  EXPECT_NE(a.draw_candidate(2, 1, 0) * 1000 + a.draw_candidate(2, 1, 1), a.draw_candidate(3, 1, 0) * 1000 + a.draw_candidate(3, 1, 1));
}

TEST(FedKSeed, ProFavoursSeedsWithLargeGradientsAndItsStateRoundTrips) {
  const Config c = pool_config(true);
  FedKSeedAlgorithm algo(c, kParams);
  for (double p : algo.probabilities()) EXPECT_DOUBLE_EQ(p, 1.0 / 16);
  std::vector<float> params(1037, 0.0f), step(c.k, 0.0f);
  step[2] = 50.0f, step[4] = 0.1f;
  algo.apply(step, params);
  const auto& p = algo.probabilities();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
  EXPECT_GT(p[2], p[4]);
  EXPECT_GT(p[4], p[0]);
  EXPECT_NEAR(p[2] / p[0], std::exp(1.0), 1e-9);  // softmax of min-max-normalised scores: e^1 / e^0
  int twos = 0;
  for (uint32_t s = 0; s < 2000; ++s) twos += algo.draw_candidate(0, 0, s) == 2;
  EXPECT_NEAR(twos / 2000.0, p[2], 0.03);

  FedKSeedAlgorithm restored(c, kParams);
  restored.set_state(algo.state());
  EXPECT_EQ(restored.probabilities(), algo.probabilities());
  EXPECT_THROW(restored.set_state(std::vector<float>(3)), std::invalid_argument);
}

}  // namespace
