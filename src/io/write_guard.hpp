// defines: WriteGuard — the process's one lock around output writes that must not be cut in half
//
// A metrics.h5 append (datasets, then the flush) and a checkpoint's rename hold it; whatever ends
// the process early on purpose (federated/launcher_watch: the launcher died) takes it first, so the
// process never stops between an append and its flush or half-way through a rename. A checkpoint's
// temp file is written outside it: a process ended then leaves round_N.h5.tmp.PID, which the next
// --resume removes once that PID is dead. Process-wide by nature (like a signal flag), hence static.
#pragma once

#include <mutex>

namespace ferret {

class WriteGuard {
 public:
  WriteGuard() : lock_(mutex()) {}

 private:
  static std::mutex& mutex();
  std::lock_guard<std::mutex> lock_;
};

}  // namespace ferret
