// defines: the implementation of evaluation.hpp
#include "model/evaluation.hpp"

#include <algorithm>
#include <numeric>

#include "model/batch.hpp"
#include "data/rouge.hpp"

namespace ferret {

double eval_loss(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  double weighted = 0.0;
  int64_t tokens = 0;
  std::vector<int64_t> indices;
  for (size_t start = 0; start < examples.size(); start += batch_size) {
    indices.resize(std::min<size_t>(batch_size, examples.size() - start));
    std::iota(indices.begin(), indices.end(), static_cast<int64_t>(start));
    const Batch batch = collate(examples, indices);
    auto [loss, count] = masked_lm_loss(model->forward(batch.tokens), batch.tokens, batch.mask);
    weighted += loss.item<double>() * static_cast<double>(count);
    tokens += count;
  }
  return tokens > 0 ? weighted / static_cast<double>(tokens) : 0.0;
}

std::vector<int32_t> generate_greedy_ids(LlamaForCausalLM& model, std::vector<int32_t> prompt,
                                         std::span<const int32_t> stop_ids, int64_t max_new_tokens) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t max_len = model->config.max_seq_len;
  TORCH_CHECK(!prompt.empty() && static_cast<int64_t>(prompt.size()) <= max_len, "generate: prompt of ", prompt.size(),
              " tokens (allowed: 1..max-seq-len ", max_len, ")");
  KvCache cache;
  auto input = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kInt64).unsqueeze(0);
  std::vector<int32_t> generated;
  for (int64_t t = 0; t < max_new_tokens && cache.length + input.size(1) <= max_len; ++t) {
    const auto next = static_cast<int32_t>(model->forward(input, cache).select(1, -1).argmax(-1).item<int64_t>());
    if (std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end()) break;
    generated.push_back(next);
    input = torch::tensor({static_cast<int64_t>(next)}, torch::kInt64).unsqueeze(0);
  }
  return generated;
}

std::string generate_greedy(LlamaForCausalLM& model, const Tokenizer& tokenizer, const Example& example,
                            int64_t max_new_tokens, PromptTemplate tmpl) {
  const int64_t max_len = model->config.max_seq_len;
  // Leave room for the answer: the prompt is cut from the left (after BOS) when it is too long.
  auto prompt = encode_prompt(tokenizer, example, static_cast<size_t>(max_len - std::min(max_new_tokens, max_len / 2)), tmpl);
  std::vector<int32_t> stop{response_end_id(tokenizer, tmpl)};
  if (tokenizer.eos_id() >= 0 && tokenizer.eos_id() != stop[0]) stop.push_back(tokenizer.eos_id());
  const auto ids = generate_greedy_ids(model, std::move(prompt), stop, max_new_tokens);
  return tokenizer.decode(ids);
}

double eval_rouge_l(LlamaForCausalLM& model, const Tokenizer& tokenizer, const std::vector<Example>& examples,
                    int64_t max_new_tokens, PromptTemplate tmpl) {
  std::vector<std::string> preds, refs;
  for (const auto& ex : examples) {
    preds.push_back(generate_greedy(model, tokenizer, ex, max_new_tokens, tmpl));
    refs.push_back(ex.output);
  }
  return mean_rouge_l(preds, refs);
}

}  // namespace ferret
