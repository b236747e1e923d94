#include "ferret/client.hpp"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "ferret/batch.hpp"
#include "ferret/sampling.hpp"

namespace ferret {
namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(LlamaForCausalLM& model, const Config& c) {
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(model->parameters(),
                                               torch::optim::SGDOptions(c.lr).weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::AdamW>(model->parameters(),
                                               torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
}

}  // namespace

double train_client(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, const Config& c,
                    uint32_t round, uint32_t client) {
  model->train();
  auto optimizer = make_optimizer(model, c);
  BatchSampler sampler(c.seed, round, client, examples.size());
  double loss_sum = 0.0;
  int64_t micro_batches = 0;
  for (int64_t step = 0; step < c.local_steps; ++step) {
    optimizer->zero_grad();
    for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
      const auto indices = sampler.next(c.batch_size);
      const Batch batch = collate(examples, indices);
      torch::Tensor loss;
      {
        // Autocast only around the forward pass: its cached bf16 weight copies go stale at optimizer->step().
        PrecisionScope precision(c.dtype, model->device());
        loss = masked_lm_loss(model->forward(batch.tokens), batch.tokens, batch.mask).first;
      }
      (loss / static_cast<double>(c.grad_accum)).backward();
      const double value = loss.item<double>();
      if (!std::isfinite(value)) return value;  // the update is garbage: the caller drops it
      loss_sum += value;
      ++micro_batches;
    }
    if (c.grad_clip > 0.0) torch::nn::utils::clip_grad_norm_(model->parameters(), c.grad_clip);
    optimizer->step();
  }
  return loss_sum / static_cast<double>(micro_batches);
}

double train_client_zeroth_order(LlamaForCausalLM& model, std::span<float> params,
                                 const std::vector<EncodedExample>& examples, const Config& c, uint32_t round,
                                 uint32_t client, const FedKSeedAlgorithm& algorithm, std::span<float> grads) {
  torch::NoGradGuard no_grad;
  model->eval();  // zeroth-order steps only evaluate the loss (the reference code runs in eval mode)
  BatchSampler sampler(c.seed, round, client, examples.size());
  const float eps = algorithm.eps(), lr = algorithm.lr();
  const auto loss_of = [&](const Batch& batch) {
    PrecisionScope precision(c.dtype, model->device());
    return masked_lm_loss(model->forward(batch.tokens), batch.tokens, batch.mask).first.item<double>();
  };
  double loss_sum = 0.0;
  int64_t taken = 0;
  for (int64_t step = 0; step < c.local_steps; ++step) {
    const Batch batch = collate(examples, sampler.next(c.batch_size * c.grad_accum));
    const uint32_t s = algorithm.draw_candidate(round, client, static_cast<uint32_t>(step));
    algorithm.add_candidate(s, eps, params);         // w + εz
    const double plus = loss_of(batch);
    algorithm.add_candidate(s, -2.0f * eps, params);  // w − εz
    const double minus = loss_of(batch);
    algorithm.add_candidate(s, eps, params);         // back to w (up to float rounding, as in MeZO)
    const double g = (plus - minus) / (2.0 * static_cast<double>(eps));
    if (!std::isfinite(g)) continue;
    if (c.weight_decay > 0.0) {
      const auto shrink = static_cast<float>(1.0 - static_cast<double>(lr) * c.weight_decay);
      for (float& w : params) w *= shrink;
    }
    algorithm.add_candidate(s, static_cast<float>(-static_cast<double>(lr) * g), params);
    grads[s] += static_cast<float>(g);
    loss_sum += plus;
    ++taken;
  }
  return taken > 0 ? loss_sum / static_cast<double>(taken) : std::nan("");
}

}  // namespace ferret
