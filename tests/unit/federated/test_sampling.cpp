// Who does what in a round (federated/sampling.hpp) and which examples a client draws
// (data/batch_sampler.hpp): pure functions of the seed.
#include <gtest/gtest.h>

#include <algorithm>

#include "data/batch_sampler.hpp"
#include "federated/sampling.hpp"

namespace {

using namespace ferret;

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
