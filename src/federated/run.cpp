// defines: The run (run.hpp): setup, then the rounds, each a sequence of named phases (round.hpp).
#include "federated/run.hpp"

#include "federated/fault_injection.hpp"
#include "federated/record.hpp"
#include "federated/round.hpp"
#include "federated/setup.hpp"

namespace ferret {

RunSummary run_federated(const Config& c, Comm& comm, std::ostream& log) {
  RunState st = setup_run(c, comm);
  RoundBuffers buffers = allocate_round_buffers(st, data_plane(st, comm));
  const UpdateFault fault = make_update_fault(c);  // empty unless --inject-fault (a test hook)
  Round round(c, comm, st, buffers, fault);
  Recorder recorder(c, comm, st, log);

  RunSummary summary;
  summary.metrics_path = st.paths.metrics;
  summary.initial_eval_loss = recorder.begin();
  ClientPrivacy& privacy = *st.privacy;
  for (int64_t r = st.start_round; r < c.rounds; ++r) {
    const RoundPlan plan = privacy.on() ? plan_private_round(c, r, comm, privacy) : plan_round(c, r, comm.size());
    const RoundStats stats = round.run(plan);
    if (privacy.on()) privacy.account_round();
    const bool budget_spent = privacy.next_round_exceeds_target();
    summary.final_eval_loss = recorder.record(plan, stats, buffers, budget_spent);
    summary.rounds_done = r + 1;
    if (budget_spent && r + 1 < c.rounds) {
      recorder.budget_spent(r + 1);
      break;
    }
    if (stats.stop_signal != 0 && r + 1 < c.rounds) {  // every rank saw the same signal (RoundStats)
      summary.preempted = true;
      recorder.preempted(r + 1, stats.stop_signal);
      break;
    }
  }
  recorder.end();
  comm.barrier();  // the run is over for every rank only once rank 0's final checkpoint exists
  return summary;
}

}  // namespace ferret
