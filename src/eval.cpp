#include "ferret/eval.hpp"

#include <numeric>

#include "ferret/batch.hpp"
#include "ferret/rouge.hpp"

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

std::string generate_greedy(LlamaForCausalLM& model, const ByteTokenizer& tokenizer, const Example& example,
                            int64_t max_new_tokens) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t max_len = model->config.max_seq_len;
  // Leave room for the answer: the prompt is cut from the left (after BOS) when it is too long.
  auto ids = encode_prompt(tokenizer, example, static_cast<size_t>(max_len - std::min(max_new_tokens, max_len / 2)));
  const size_t prompt_len = ids.size();
  for (int64_t t = 0; t < max_new_tokens && static_cast<int64_t>(ids.size()) < max_len; ++t) {
    auto input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
    const auto next = static_cast<int32_t>(model->forward(input).select(1, -1).argmax(-1).item<int64_t>());
    if (next == ByteTokenizer::kEos) break;
    ids.push_back(next);
  }
  return tokenizer.decode(std::span<const int32_t>(ids).subspan(prompt_len));
}

double eval_rouge_l(LlamaForCausalLM& model, const ByteTokenizer& tokenizer, const std::vector<Example>& examples,
                    int64_t max_new_tokens) {
  std::vector<std::string> preds, refs;
  for (const auto& ex : examples) {
    preds.push_back(generate_greedy(model, tokenizer, ex, max_new_tokens));
    refs.push_back(ex.output);
  }
  return mean_rouge_l(preds, refs);
}

}  // namespace ferret
