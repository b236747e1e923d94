// The RDP accountant's closed forms and invariants (tests/oracle/test_privacy_oracle.py compares it
// with dp-accounting over a grid).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "privacy/rdp_accountant.hpp"

using namespace ferret;

TEST(RdpAccountant, FullParticipationIsTheGaussianMechanism) {
  // q = 1: RDP of the Gaussian mechanism, α / (2 z²), for integer and fractional orders alike.
  for (double alpha : {1.5, 2.0, 7.3, 32.0}) EXPECT_DOUBLE_EQ(sampled_gaussian_rdp(1.0, 2.0, alpha), alpha / 8.0);
  // Integer orders by the binomial sum and the fractional series meet at an integer: 3 vs 3 ± 1e-9.
  const double at3 = sampled_gaussian_rdp(0.05, 1.1, 3.0);
  EXPECT_NEAR(sampled_gaussian_rdp(0.05, 1.1, 3.0 + 1e-9), at3, 1e-6 * at3);
}

TEST(RdpAccountant, EpsilonGrowsWithRoundsAndFallsWithNoise) {
  RdpAccountant a;
  EXPECT_EQ(a.epsilon(1e-5), 0.0);  // nothing composed
  double last = 0.0;
  for (int r = 0; r < 5; ++r) {
    const double predicted = a.epsilon_after(0.05, 1.0, 1e-5);
    a.compose(0.05, 1.0);
    EXPECT_DOUBLE_EQ(a.epsilon(1e-5), predicted);
    EXPECT_GT(a.epsilon(1e-5), last);
    last = a.epsilon(1e-5);
  }
  RdpAccountant noisier;
  noisier.compose(0.05, 2.0, 5);
  EXPECT_LT(noisier.epsilon(1e-5), last);
  RdpAccountant none;
  none.compose(0.05, 0.0);  // no noise: no privacy
  EXPECT_TRUE(std::isinf(none.epsilon(1e-5)));
}

TEST(RdpAccountant, StateRoundTripsAndBadStateIsRefused) {
  RdpAccountant a;
  a.compose(0.1, 1.2, 7);
  RdpAccountant b;
  b.set_rdp(a.rdp());
  EXPECT_EQ(b.epsilon(1e-6), a.epsilon(1e-6));
  EXPECT_THROW(b.set_rdp(std::vector<double>(3, 0.0)), std::invalid_argument);
  std::vector<double> negative = a.rdp();
  negative[0] = -1.0;
  EXPECT_THROW(b.set_rdp(negative), std::invalid_argument);
  EXPECT_THROW(a.epsilon(1.0), std::invalid_argument);
  EXPECT_THROW(a.compose(1.5, 1.0), std::invalid_argument);
}
