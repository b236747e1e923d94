// defines: run_federated — a whole federated run on this rank (rank 0 server, others clients)
//
// A run is setup (setup.hpp: device, --out, model, data, algorithm, resume), then for each round
// the phases of round.hpp (plan → train → agree → upload → step → broadcast → apply → verify →
// stats) on every rank, and rank 0's record of it (record.hpp: evaluation, metrics.h5, progress
// line, checkpoint). A stop signal on any rank ends the run after the same round everywhere.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "comm/mpi_comm.hpp"
#include "config/config.hpp"

namespace ferret {

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
