// defines: LauncherWatch — ranks notice a dead launcher (kill -9 of mpirun) and stop
//
// Open MPI's mpirun, killed with SIGKILL, cannot tell its ranks: they are re-parented and would run
// on for a round or more, writing checkpoints and metrics that a resume started at once would race
// with. Under a launcher (OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK in the environment) a thread
// polls the parent PID; when it changes, it takes the WriteGuard (so no append or rename is cut in
// half), prints one line and ends the process with kExitLauncherGone. A process started by hand
// (no launcher) is never watched: a shell that goes away must not stop a `nohup ferret` run.
#pragma once

#include <atomic>
#include <thread>

namespace ferret {

inline constexpr int kExitLauncherGone = 4;

class LauncherWatch {
 public:
  // Starts watching if this process was started by an MPI launcher; `rank` names it in the line.
  explicit LauncherWatch(int rank);
  ~LauncherWatch();
  LauncherWatch(const LauncherWatch&) = delete;
  LauncherWatch& operator=(const LauncherWatch&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ferret
