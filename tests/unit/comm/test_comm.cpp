#include <gtest/gtest.h>

#include "comm/mpi_comm.hpp"

namespace {

TEST(ReplicaCheck, NamesEveryRankThatDiffersFromRoot) {
  const std::vector<uint64_t> same{7, 7, 7, 7};
  EXPECT_TRUE(ferret::ranks_differing_from_root(same).empty());
  const std::vector<uint64_t> drift{7, 7, 9, 8};
  EXPECT_EQ(ferret::ranks_differing_from_root(drift), (std::vector<int>{2, 3}));
  const std::vector<uint64_t> one{3};
  EXPECT_TRUE(ferret::ranks_differing_from_root(one).empty());
}

TEST(Traffic, DifferenceOfCounters) {
  const ferret::Traffic a{100, 40, 8}, b{30, 10, 8};
  const auto d = a - b;
  EXPECT_EQ(d.up, 70u);
  EXPECT_EQ(d.down, 30u);
  EXPECT_EQ(d.control, 0u);
}

}  // namespace
