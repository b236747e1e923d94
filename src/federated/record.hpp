// defines: Recorder — rank 0's account of the run: evaluation, metrics.h5, the progress line
//          (with an ETA that counts evaluation), checkpoints
#pragma once

#include <cstdint>
#include <ostream>

#include "federated/round.hpp"
#include "federated/setup.hpp"

namespace ferret {

class Recorder {
 public:
  Recorder(const Config& config, const Comm& comm, RunState& st, std::ostream& log);

  // Before round start_round + 1: the configuration, the model, the initial evaluation. Returns
  // the initial eval loss.
  double begin();
  // After a round: evaluate, append to metrics.h5, print the progress line, checkpoint every
  // --checkpoint-every rounds, at the end, when `stats` carries a stop signal, and when `last`
  // (the privacy budget is spent). Returns the round's eval loss.
  double record(const RoundPlan& plan, const RoundStats& stats, const RoundBuffers& buffers, bool last = false);
  void preempted(int64_t rounds_done, int signal);
  // The run stops after `rounds_done`: one more round would take ε past --dp-target-epsilon.
  void budget_spent(int64_t rounds_done);
  void end();

 private:
  bool rouge_round(int64_t r) const;

  const Config& config_;
  const Comm& comm_;
  RunState& st_;
  std::ostream& log_;
  // ETA: the mean round (training + eval loss) and the mean extra cost of a Rouge-L round.
  double round_seconds_ = 0.0, rouge_seconds_ = 0.0;
  int64_t rounds_timed_ = 0, rouge_rounds_timed_ = 0;
};

}  // namespace ferret
