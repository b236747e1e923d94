// defines: BatchSampler (batch_sampler.hpp): uniform draws with replacement from the client's stream.
#include "data/batch_sampler.hpp"

#include <stdexcept>
#include <string>

namespace ferret {

BatchSampler::BatchSampler(uint64_t seed, uint32_t round, uint32_t client, uint64_t num_examples)
    : rng_(seed, kDomainBatches, round, client), num_examples_(num_examples) {
  if (num_examples == 0) throw std::invalid_argument("BatchSampler: client " + std::to_string(client) + " has no examples");
}

std::vector<int64_t> BatchSampler::next(int64_t batch_size) {
  std::vector<int64_t> idx(batch_size);
  for (auto& i : idx) i = static_cast<int64_t>(rng_.below(num_examples_));
  return idx;
}

}  // namespace ferret
