// defines: install_stop_handlers, stop_requested — preemption by SIGUSR1 / SIGTERM
//
// Slurm (--signal=USR1@T, or SIGTERM at preemption) and mpirun (which forwards both) tell a job
// to stop. The handler only sets a flag; the round loop turns it into an orderly stop: the ranks
// agree at the end of the current round, rank 0 checkpoints it, and every rank exits with
// kExitPreempted, so a requeued job continues with --resume auto.
#pragma once

namespace ferret {

inline constexpr int kExitPreempted = 3;

void install_stop_handlers();
// The signal received since install_stop_handlers(), or 0.
int stop_requested();
// Forgets a received signal (a process that runs several jobs, such as the tests).
void clear_stop_request();

}  // namespace ferret
