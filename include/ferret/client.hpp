// defines: train_client — one federated client's local first-order training in a round
//
// The client starts from the global model already loaded in `model`, runs --local-steps
// optimizer steps (each over --grad-accum micro-batches of --batch-size examples drawn by
// BatchSampler from (seed, round, client)), with a fresh optimizer every round as in the
// reference code, and leaves its end point in `model`. The caller forms Δ = w_start − w_end.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ferret/config.hpp"
#include "ferret/fedkseed.hpp"
#include "ferret/data.hpp"
#include "ferret/model.hpp"

namespace ferret {

// Returns the mean training loss over the round's micro-batches, or the first non-finite loss
// (training stops there; the caller drops the update).
double train_client(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, const Config& config,
                    uint32_t round, uint32_t client);

// FedKSeed's local training (fedkseed.hpp): T zeroth-order steps, each on one candidate seed s,
//   g = (ℓ(w + εz_s) − ℓ(w − εz_s)) / 2ε,   w ← w − η (g z_s + λ w),   grads[s] += g,
// on `params` (the model's flat parameters, modified in place). A step whose g is not finite is
// skipped, as in the reference code. Returns the mean loss ℓ(w + εz_s) over the steps taken (NaN if none).
double train_client_zeroth_order(LlamaForCausalLM& model, std::span<float> params,
                                 const std::vector<EncodedExample>& examples, const Config& config, uint32_t round,
                                 uint32_t client, const FedKSeedAlgorithm& algorithm, std::span<float> grads);

}  // namespace ferret
