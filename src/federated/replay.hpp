// defines: replay_run — rebuild the model of round r from the seed and metrics.h5's /coefficients
//
// A Ferret run's whole trajectory is the initial model (a pure function of the seed) plus one
// K-vector and one allocation per round: replaying w_r = w_{r−1} − V_r s_r for r = 1..R must give
// the checkpoint of round R bit for bit. This checks that claim, and lets a user recover any
// round's model from a few KB per round.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace ferret {

struct ReplayResult {
  int64_t round = 0;            // rounds replayed
  std::string checkpoint;       // compared against
  bool identical = false;       // bitwise equal to the checkpoint's parameters
  double max_abs_diff = 0.0;
};

// `round` 0 = the newest checkpoint of the run. Throws ConfigError on a run that cannot be
// replayed (not ferret, no such checkpoint, metrics shorter than the round).
ReplayResult replay_run(const std::string& run_dir, int64_t round, std::ostream& log);

// `ferret replay --run DIR [--round R]`: prints the outcome; returns the process exit code.
int replay_main(int argc, const char* const* argv);

}  // namespace ferret
