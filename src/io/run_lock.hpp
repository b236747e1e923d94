// defines: RunLock — the exclusive lock a run holds on its --out directory, and
//          remove_stale_temporaries, which clears what a dead writer left there
//
// Two jobs writing one --out would interleave their rounds in metrics.h5 and overwrite each
// other's checkpoints, and both would exit 0. Rank 0 therefore holds flock(2) on --out/.ferret.lock
// for the whole run; the file names the holder (host, PID, start time) so a refused second run can
// say who has it. The kernel drops the lock when the holder dies, however it dies, so a stale file
// never blocks a rerun. Network file systems: NFSv4 and Lustre (mounted with -o flock) honour
// flock; a file system without it makes acquire() fail with a message saying so.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ferret {

// Why a lock could not be taken: `what()` is one line naming the directory and, when another run
// holds it, that run's host, PID and start time.
struct RunLockError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RunLock {
 public:
  static constexpr const char* kFileName = ".ferret.lock";

  // Takes the lock on `dir`, creating `dir` (and its parents) when absent. Throws RunLockError when
  // another process holds it or the directory cannot be created or written.
  static RunLock acquire(const std::string& dir);

  RunLock(RunLock&&) noexcept;
  RunLock& operator=(RunLock&&) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  // Releases the lock and removes the lock file; a `dir` this lock created and that is still
  // empty goes too, so a refused run leaves --out as it found it.
  ~RunLock();

  const std::string& dir() const { return dir_; }
  bool created_dir() const { return created_dir_; }

 private:
  RunLock(int fd, std::string dir, bool created_dir);
  void release() noexcept;
  int fd_ = -1;
  std::string dir_;
  bool created_dir_ = false;
};

// True when `dir` holds nothing but a lock file (or nothing at all).
bool holds_only_lock(const std::string& dir);

// Removes the checkpoint temporaries `round_NNNNNN.h5.tmp.PID` in `checkpoint_dir`. Call it only
// while holding the RunLock of their run: every writer of that directory held the lock, so none is
// still writing. A temporary whose PID is alive on this host is kept (it may be someone else's
// file). Returns one line per file removed, for the log.
std::vector<std::string> remove_stale_temporaries(const std::string& checkpoint_dir);

}  // namespace ferret
