// defines: train_client — one federated client's local first-order training in a round
//
// The client starts from the global model already loaded in `model`, runs --local-steps
// optimizer steps (each over --grad-accum micro-batches of --batch-size examples drawn by
// BatchSampler from (seed, round, client)), with a fresh optimizer every round as in the
// reference code, and leaves its end point in `model`. The caller forms Δ = w_start − w_end.
#pragma once

#include <cstdint>
#include <vector>

#include "ferret/config.hpp"
#include "ferret/data.hpp"
#include "ferret/model.hpp"

namespace ferret {

// Returns the mean training loss over the round's micro-batches, or the first non-finite loss
// (training stops there; the caller drops the update).
double train_client(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, const Config& config,
                    uint32_t round, uint32_t client);

}  // namespace ferret
