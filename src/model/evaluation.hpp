// defines: eval_loss, generate_greedy, eval_rouge_l — rank 0's evaluation of the global model
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/example.hpp"
#include "model/llama.hpp"
#include "data/tokenizer.hpp"

namespace ferret {

// Mean cross entropy per response token over `examples` (token-weighted, in batches).
double eval_loss(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, int64_t batch_size = 16);

// Greedy decoding with a KV cache: the prompt is run once, then one token per step, until a token in
// stop_ids (not returned), max_new_tokens, or max-seq-len. Returns the generated ids.
std::vector<int32_t> generate_greedy_ids(LlamaForCausalLM& model, std::vector<int32_t> prompt,
                                         std::span<const int32_t> stop_ids, int64_t max_new_tokens);

// Greedy answer to `example` in the prompt template, stopping at the response end token or EOS.
std::string generate_greedy(LlamaForCausalLM& model, const Tokenizer& tokenizer, const Example& example,
                            int64_t max_new_tokens, PromptTemplate tmpl = PromptTemplate::alpaca);

// Mean Rouge-L (rouge.hpp) of greedy generations against the references.
double eval_rouge_l(LlamaForCausalLM& model, const Tokenizer& tokenizer, const std::vector<Example>& examples,
                    int64_t max_new_tokens, PromptTemplate tmpl = PromptTemplate::alpaca);

}  // namespace ferret
