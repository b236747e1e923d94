// defines: the implementation of sampling.hpp
#include "federated/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ferret {

std::vector<int> sample_clients(uint64_t seed, uint32_t round, int num_clients, double participation) {
  if (num_clients < 1) throw std::invalid_argument("sample_clients: num_clients must be >= 1");
  const int m = std::clamp(static_cast<int>(std::lround(participation * num_clients)), 1, num_clients);
  std::vector<int> ids(num_clients);
  std::iota(ids.begin(), ids.end(), 0);
  CounterRng rng(seed, kDomainClientSampling, round, 0);
  for (int i = 0; i < m; ++i) {
    const auto j = i + static_cast<int>(rng.below(static_cast<uint64_t>(num_clients - i)));
    std::swap(ids[i], ids[j]);
  }
  ids.resize(m);
  std::sort(ids.begin(), ids.end());
  return ids;
}

int rank_of_client(int client, int world_size) {
  return world_size == 1 ? 0 : 1 + client % (world_size - 1);
}

std::vector<int> clients_of_rank(int rank, int world_size, int num_clients) {
  std::vector<int> mine;
  for (int c = 0; c < num_clients; ++c)
    if (rank_of_client(c, world_size) == rank) mine.push_back(c);
  return mine;
}

std::vector<bool> sender_ranks(const std::vector<int>& selected, int world_size) {
  std::vector<bool> senders(world_size, false);
  for (int c : selected) senders[rank_of_client(c, world_size)] = true;
  return senders;
}

}  // namespace ferret
