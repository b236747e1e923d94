// defines: BatchSampler — which training examples a client's local steps draw in a round
#pragma once

#include <cstdint>
#include <vector>

#include "random/counter_rng.hpp"

namespace ferret {

// Indices of training examples for one client's local steps in one round: uniform with
// replacement, a pure function of (seed, round, client) and the draw count.
class BatchSampler {
 public:
  BatchSampler(uint64_t seed, uint32_t round, uint32_t client, uint64_t num_examples);
  std::vector<int64_t> next(int64_t batch_size);

 private:
  CounterRng rng_;
  uint64_t num_examples_;
};

}  // namespace ferret
