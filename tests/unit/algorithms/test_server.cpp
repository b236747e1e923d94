#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "algorithms/server_optimizer.hpp"

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
  o.schedule = LrSchedule::linear;
  EXPECT_DOUBLE_EQ(server_lr_at(o, 0), 10.0);
  EXPECT_DOUBLE_EQ(server_lr_at(o, 2), 6.0);
  o.schedule = LrSchedule::cosine;
  EXPECT_DOUBLE_EQ(server_lr_at(o, 0), 10.0);
  EXPECT_NEAR(server_lr_at(o, 2), 6.0, 1e-12);
  EXPECT_NEAR(server_lr_at(o, 1), 2.0 + 8.0 * 0.5 * (1 + std::cos(std::numbers::pi / 4)), 1e-12);
}

}  // namespace
