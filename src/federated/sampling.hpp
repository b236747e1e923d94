// defines: sample_clients, rank_of_client, clients_of_rank, sender_ranks
//
// Who does what in a round, derived from the run seed alone: every rank computes the same
// answers, so no message is needed to agree on them.
#pragma once

#include <cstdint>
#include <vector>

#include "random/counter_rng.hpp"

namespace ferret {

// The clients taking part in `round`: max(1, round(participation · N)) of them, drawn without
// replacement (partial Fisher–Yates on a counter-based stream), returned sorted.
std::vector<int> sample_clients(uint64_t seed, uint32_t round, int num_clients, double participation);

// Rank 0 is the server; clients live on ranks 1..P-1 round robin (all on rank 0 when P = 1).
int rank_of_client(int client, int world_size);
std::vector<int> clients_of_rank(int rank, int world_size, int num_clients);

// Which ranks host at least one of `selected` (they upload this round).
std::vector<bool> sender_ranks(const std::vector<int>& selected, int world_size);

}  // namespace ferret
