// defines: RoundBreakdown, time_rounds
//
// ferret-bench's per-round breakdown: a short real run (run.hpp) of one algorithm on the given
// configuration and ranks, read back from its metrics.h5. Means are over rounds 2..R (round 1
// pays one-off costs: allocation, first-touch, thread-pool start), or round 1 when R = 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/mpi_comm.hpp"

namespace ferret::bench {

struct RoundBreakdown {
  std::string algorithm;
  int64_t rounds = 0, num_params = 0, k = 0, ranks = 0;
  double local = 0, project = 0, comm = 0, reconstruct = 0, eval = 0, round = 0;  // seconds per round
  double wait = 0;  // at the barrier for the slowest rank (imbalance of local training; not overhead)
  double bytes_up = 0, bytes_down = 0;                                            // per round
  // Ferret's aggregation cost relative to local training: (project + comm + reconstruct) / local.
  double overhead_pct() const { return 100.0 * (project + comm + reconstruct) / local; }
};

// Runs `ferret_args` (ferret's own options, e.g. {"--config", "configs/demo.ini", "--rounds", "3"})
// with --algorithm and --out (a fresh temporary directory, removed afterwards) set here, on every
// rank of `comm`. The result is meaningful on rank 0. Throws on a bad configuration.
RoundBreakdown time_rounds(const std::string& algorithm, const std::vector<std::string>& ferret_args, Comm& comm);

}  // namespace ferret::bench
