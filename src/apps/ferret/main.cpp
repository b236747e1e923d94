// defines: ferret — federated full-parameter fine-tuning with shared randomness, over MPI.
// Rank 0 is the server, ranks 1..P-1 host the clients (run.hpp describes a round).
//
// Exit codes: 0 success, 2 bad configuration (reported once, by rank 0, on every rank),
// 3 preempted by SIGUSR1/SIGTERM after checkpointing (continue with --resume auto),
// 1 failure during the run (reported by the failing rank; MPI_Abort ends every rank),
// 4 the launcher died (kill -9 of mpirun): each rank stops by itself (federated/launcher_watch.hpp).
#include <exception>
#include <iostream>
#include <string_view>

#include "comm/mpi_comm.hpp"
#include "config/config.hpp"
#include "federated/launcher_watch.hpp"
#include "federated/replay.hpp"
#include "federated/run.hpp"
#include "federated/signals.hpp"

int main(int argc, char** argv) {
  ferret::MpiSession mpi(&argc, &argv);
  ferret::install_stop_handlers();
  ferret::Comm comm;
  const ferret::LauncherWatch launcher_watch(comm.rank());
  try {
    if (argc > 1 && std::string_view(argv[1]) == "replay") {  // a single-process tool, no federation
      return comm.is_root() ? ferret::replay_main(argc - 1, argv + 1) : 0;
    }
    const ferret::ParseResult parsed = ferret::parse_config(argc, argv);
    if (!parsed.config) {
      if (comm.is_root()) std::cout << parsed.message;
      return 0;
    }
    const ferret::RunSummary summary = ferret::run_federated(*parsed.config, comm, std::cout);
    return summary.preempted ? ferret::kExitPreempted : 0;
  } catch (const ferret::ConfigError& e) {
    // Every rank parses and checks the same inputs, so every rank lands here: no abort needed.
    if (comm.is_root()) std::cerr << "ferret: error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ferret: error (rank " << comm.rank() << "): " << e.what() << std::endl;
    comm.abort(1);
  }
}
