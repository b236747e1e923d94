// defines: UpdateFault, make_update_fault — --inject-fault, a testing aid outside the round's path
//
// The fault tests need a client that sends garbage (NaN entries, a huge norm) to check that the
// round drops it and carries on. The round only calls the hook if one is set, so a run without
// --inject-fault has no fault code on its path.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "config/config.hpp"

namespace ferret {

// Corrupts client `client`'s update in place (first order: Δ; zeroth order: its K gradients).
using UpdateFault = std::function<void(int client, torch::Tensor& update)>;

// The hook of --inject-fault / --inject-fault-client; empty for --inject-fault none.
UpdateFault make_update_fault(const Config& config);

}  // namespace ferret
