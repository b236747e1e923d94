// defines: run_federated — a whole federated run on this rank (rank 0 server, others clients)
//
// Round r (0-based; printed 1-based):
//   1. every rank derives the sampled clients from the seed (sampling.hpp);
//   2. each selected client trains from the global model (client.hpp); its rank sums the
//      weighted updates Δ_i = w_start − w_end (weight = its training examples, or 1);
//   3. the algorithm encodes the sum (ferret: K coefficients; fedavg: d floats) and appends a
//      16-byte header [Σ w_i, Σ w_i·loss_i, #clients, #dropped]; MPI_Reduce(sum) to rank 0 over the
//      ranks that host selected clients;
//   4. rank 0's server step (server.hpp) → MPI_Bcast of the step; every rank applies it, so all
//      replicas stay identical; every --verify-every rounds the ranks compare checksums;
//   5. rank 0 evaluates, appends the round to metrics.h5, prints a progress line, and writes a
//      checkpoint every --checkpoint-every rounds and at the end.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "ferret/comm.hpp"
#include "ferret/config.hpp"

namespace ferret {

// Bytes of the header appended to every upload (see above).
inline constexpr size_t kUploadHeaderFloats = 4;

struct RunSummary {
  int64_t rounds_done = 0;
  double initial_eval_loss = 0.0;  // rank 0: before training (or at the resumed round)
  double final_eval_loss = 0.0;    // rank 0
  std::string metrics_path;
  bool preempted = false;          // stopped early by SIGUSR1/SIGTERM, after checkpointing (signals.hpp)
};

// Runs (or resumes) the configured job. Throws ConfigError for a bad setup (the same on every
// rank) and std::runtime_error for failures during the run.
RunSummary run_federated(const Config& config, Comm& comm, std::ostream& log);

}  // namespace ferret
