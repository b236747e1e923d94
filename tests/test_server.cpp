#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "ferret/sampling.hpp"
#include "ferret/server.hpp"

namespace {

using namespace ferret;

double l2(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

TEST(ServerOptimizer, WeightedMeanTimesLearningRate) {
  ServerOptimizer s({.lr = 0.5, .rounds = 4}, 3, l2);
  std::vector<float> u{2.0f, -4.0f, 6.0f};  // Σ w_i u_i with Σ w_i = 2
  s.step(u, 2.0, 0);
  EXPECT_FLOAT_EQ(u[0], 0.5f);
  EXPECT_FLOAT_EQ(u[1], -1.0f);
  EXPECT_FLOAT_EQ(u[2], 1.5f);
  EXPECT_TRUE(s.momentum().empty());
}

TEST(ServerOptimizer, MomentumAccumulatesAcrossRounds) {
  ServerOptimizer s({.lr = 1.0, .rounds = 4, .momentum = 0.9}, 1, l2);
  std::vector<float> u{1.0f};
  s.step(u, 1.0, 0);
  EXPECT_FLOAT_EQ(u[0], 1.0f);
  u = {1.0f};
  s.step(u, 1.0, 1);
  EXPECT_FLOAT_EQ(u[0], 1.9f);
  EXPECT_FLOAT_EQ(s.momentum()[0], 1.9f);
}

TEST(ServerOptimizer, ClipsTheAppliedNorm) {
  ServerOptimizer s({.lr = 2.0, .rounds = 1, .clip = 1.0}, 2, l2);
  std::vector<float> u{3.0f, 4.0f};  // mean norm 5, × lr 2 = 10 → clipped to 1
  s.step(u, 1.0, 0);
  EXPECT_NEAR(l2(u), 1.0, 1e-6);
  EXPECT_NEAR(u[0] / u[1], 0.75, 1e-6);
}

TEST(ServerOptimizer, RejectsZeroWeight) {
  ServerOptimizer s({}, 1, l2);
  std::vector<float> u{1.0f};
  EXPECT_THROW(s.step(u, 0.0, 0), std::runtime_error);
}

TEST(ServerLrSchedule, ConstantLinearCosine) {
  ServerOptions o{.lr = 10.0, .lr_min = 2.0, .rounds = 4};
  EXPECT_DOUBLE_EQ(server_lr_at(o, 3), 10.0);
  o.schedule = "linear";
  EXPECT_DOUBLE_EQ(server_lr_at(o, 0), 10.0);
  EXPECT_DOUBLE_EQ(server_lr_at(o, 2), 6.0);
  o.schedule = "cosine";
  EXPECT_DOUBLE_EQ(server_lr_at(o, 0), 10.0);
  EXPECT_NEAR(server_lr_at(o, 2), 6.0, 1e-12);
  EXPECT_NEAR(server_lr_at(o, 1), 2.0 + 8.0 * 0.5 * (1 + std::cos(std::numbers::pi / 4)), 1e-12);
}

TEST(Sampling, SampleIsDeterministicSortedAndSized) {
  const auto a = sample_clients(7, 3, 20, 0.25), b = sample_clients(7, 3, 20, 0.25);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());  // no repeats
  EXPECT_NE(sample_clients(7, 4, 20, 0.25), a);                 // another round, another sample
  EXPECT_EQ(sample_clients(7, 3, 20, 1.0).size(), 20u);
  EXPECT_EQ(sample_clients(7, 3, 20, 0.001).size(), 1u);        // at least one client
}

TEST(Sampling, EveryClientIsSampledAboutEquallyOften) {
  std::vector<int> hits(10, 0);
  for (uint32_t r = 0; r < 2000; ++r)
    for (int c : sample_clients(1, r, 10, 0.3)) ++hits[c];
  for (int h : hits) EXPECT_NEAR(h, 600, 90);
}

TEST(Sampling, ClientsMapRoundRobinOntoClientRanks) {
  EXPECT_EQ(clients_of_rank(0, 1, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(clients_of_rank(0, 4, 7).empty());
  EXPECT_EQ(clients_of_rank(1, 4, 7), (std::vector<int>{0, 3, 6}));
  EXPECT_EQ(clients_of_rank(3, 4, 7), (std::vector<int>{2, 5}));
  EXPECT_EQ(sender_ranks({0, 2}, 4), (std::vector<bool>{false, true, false, true}));
}

TEST(Sampling, BatchesArePureFunctionsOfSeedRoundClient) {
  BatchSampler a(5, 1, 2, 100), b(5, 1, 2, 100), c(5, 1, 3, 100);
  const auto x = a.next(16);
  EXPECT_EQ(x, b.next(16));
  EXPECT_NE(x, c.next(16));
  for (auto i : x) EXPECT_LT(i, 100);
  EXPECT_THROW(BatchSampler(5, 1, 2, 0), std::invalid_argument);
}

}  // namespace
