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

#include "config/config.hpp"
#include "data/example.hpp"
#include "data/batch_sampler.hpp"
#include "model/batch.hpp"
#include "model/llama.hpp"

namespace ferret {

// Returns the mean training loss over the round's micro-batches, or the first non-finite loss
// (training stops there; the caller drops the update).
double train_client(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, const Config& config,
                    uint32_t round, uint32_t client);

// A client's loss without gradients, for zeroth-order training (the algorithm's side is
// Algorithm::train_zeroth_order; this layer knows no algorithm): next_batch() draws the next
// step's --batch-size × --grad-accum examples from (seed, round, client); loss() is ℓ at the
// model's current parameters on that batch, under --dtype. The model is put in eval mode, as in
// the reference code.
class LossProbe {
 public:
  LossProbe(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, const Config& config,
            uint32_t round, uint32_t client);
  void next_batch();
  double loss();

 private:
  LlamaForCausalLM& model_;
  const std::vector<EncodedExample>& examples_;
  const Config& config_;
  BatchSampler sampler_;
  Batch batch_;
};

}  // namespace ferret
