// defines: the process-wide mutex behind WriteGuard (write_guard.hpp)
#include "io/write_guard.hpp"

namespace ferret {

std::mutex& WriteGuard::mutex() {
  static std::mutex m;
  return m;
}

}  // namespace ferret
