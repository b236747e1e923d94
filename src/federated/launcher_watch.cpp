// defines: the implementation of launcher_watch.hpp
#include "federated/launcher_watch.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "io/write_guard.hpp"

namespace ferret {
namespace {

// 100 ms: a dead launcher is noticed well inside a second, for one getppid() call each time.
constexpr auto kPollInterval = std::chrono::milliseconds(100);

void watch(std::atomic<bool>& stop, pid_t launcher, int rank) {
  while (!stop.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(kPollInterval);
    if (getppid() == launcher) continue;
    const WriteGuard guard;  // held until _exit: no append, flush or rename is in flight or starts
    std::fprintf(stderr,
                 "ferret: rank %d: its launcher (pid %d) is gone; stopping now (the newest checkpoint is "
                 "complete: continue with --resume auto)\n",
                 rank, static_cast<int>(launcher));
    std::fflush(stderr);
    _exit(kExitLauncherGone);  // no destructors: other threads may be inside MPI or LibTorch
  }
}

// True when the environment names an MPI launcher's rank.
bool started_by_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

}  // namespace

LauncherWatch::LauncherWatch(int rank) {
  const pid_t parent = getppid();
  if (!started_by_launcher() || parent == 1) return;  // already orphaned: nothing to watch for
  thread_ = std::thread(watch, std::ref(stop_), parent, rank);
}

LauncherWatch::~LauncherWatch() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace ferret
