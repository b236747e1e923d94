// SecureRandom: the DP noise has the requested distribution, the sampling the requested rate, and
// two draws never repeat (nothing here comes from a seed).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "privacy/secure_random.hpp"

using namespace ferret;

TEST(SecureRandom, GaussianNoiseHasMeanZeroAndTheRequestedSpread) {
  SecureRandom rng;
  std::vector<float> x(1 << 20, 1.0f);  // added to, not overwritten
  rng.add_gaussian(x, 2.0);
  double sum = 0, sq = 0, fourth = 0;
  for (float v : x) {
    const double e = v - 1.0;
    sum += e, sq += e * e, fourth += e * e * e * e;
  }
  const double n = static_cast<double>(x.size()), mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5 * 2.0 / std::sqrt(n));      // 5 standard errors
  EXPECT_NEAR(var, 4.0, 5 * 4.0 * std::sqrt(2.0 / n));  // Var of the sample variance: 2σ⁴/n
  EXPECT_NEAR(fourth / n / (var * var), 3.0, 0.05);     // Gaussian kurtosis
}

TEST(SecureRandom, PoissonSamplingHasTheRequestedRateAndNeverRepeats) {
  SecureRandom a, b;
  const int n = 200000;
  const auto first = a.poisson_sample(n, 0.05), second = b.poisson_sample(n, 0.05);
  const double sd = std::sqrt(n * 0.05 * 0.95);
  EXPECT_NEAR(static_cast<double>(first.size()), n * 0.05, 5 * sd);
  EXPECT_NE(first, second);
  EXPECT_TRUE(a.poisson_sample(100, 0.0).empty());
  EXPECT_EQ(a.poisson_sample(100, 1.0).size(), 100u);
}
