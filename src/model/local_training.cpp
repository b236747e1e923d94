// defines: the implementation of local_training.hpp
#include "model/local_training.hpp"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "model/batch.hpp"
#include "data/batch_sampler.hpp"

namespace ferret {
namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(LlamaForCausalLM& model, const Config& c) {
  switch (c.optimizer) {
    case OptimizerKind::sgd:
      return std::make_unique<torch::optim::SGD>(model->parameters(),
                                                 torch::optim::SGDOptions(c.lr).weight_decay(c.weight_decay));
    case OptimizerKind::adamw:
      return std::make_unique<torch::optim::AdamW>(model->parameters(),
                                                   torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  }
  throw std::logic_error("make_optimizer: unknown optimizer");
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

LossProbe::LossProbe(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, const Config& config,
                     uint32_t round, uint32_t client)
    : model_(model), examples_(examples), config_(config), sampler_(config.seed, round, client, examples.size()) {
  model_->eval();
}

void LossProbe::next_batch() { batch_ = collate(examples_, sampler_.next(config_.batch_size * config_.grad_accum)); }

double LossProbe::loss() {
  torch::NoGradGuard no_grad;
  PrecisionScope precision(config_.dtype, model_->device());
  return masked_lm_loss(model_->forward(batch_.tokens), batch_.tokens, batch_.mask).first.item<double>();
}

}  // namespace ferret
