// defines: make_checkpoint, resume_from_checkpoint — a rank's state to and from a checkpoint file
//
// The file format is io/checkpoint_file.hpp's; this is what goes in it: the flat parameters (by
// name), the server optimizer's momentum and the algorithm's state (FedKSeed-Pro's seed history),
// with the run's seed, algorithm and configuration, so that a resume is bitwise.
#pragma once

#include <cstdint>
#include <string>

#include "federated/setup.hpp"

namespace ferret {

// Rank 0's checkpoint after `round` rounds.
Checkpoint make_checkpoint(const Config& config, const RunState& st, int64_t round);

// Loads the checkpoint at `path` into st (parameters, server momentum, algorithm state) and sets
// st.start_round to its round and st.resume_changes to the recorded options `config` changes.
// ConfigError when it cannot be read, belongs to another run, or `config` changes a fixed option
// (config/resume_rules.hpp: basis, k, allocation, seed, the model, the data, ...).
void resume_from_checkpoint(const std::string& path, const Config& config, RunState& st);

}  // namespace ferret
