// defines: the implementation of signals.hpp
#include "federated/signals.hpp"

#include <csignal>

namespace ferret {
namespace {

// A signal handler can only reach static storage; this flag is the one piece of process state.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // MPI and file calls in flight continue; the flag is read between rounds
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int stop_requested() { return g_stop_signal; }

void clear_stop_request() { g_stop_signal = 0; }

}  // namespace ferret
