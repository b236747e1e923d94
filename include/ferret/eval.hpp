// defines: eval_loss, generate_greedy, eval_rouge_l — rank 0's evaluation of the global model
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferret/data.hpp"
#include "ferret/model.hpp"
#include "ferret/tokenizer.hpp"

namespace ferret {

// Mean cross entropy per response token over `examples` (token-weighted, in batches).
double eval_loss(LlamaForCausalLM& model, const std::vector<EncodedExample>& examples, int64_t batch_size = 16);

// Greedy decoding after BOS + the prompt template of `example`, up to max_new_tokens or EOS.
std::string generate_greedy(LlamaForCausalLM& model, const ByteTokenizer& tokenizer, const Example& example,
                            int64_t max_new_tokens);

// Mean Rouge-L (rouge.hpp) of greedy generations against the references.
double eval_rouge_l(LlamaForCausalLM& model, const ByteTokenizer& tokenizer, const std::vector<Example>& examples,
                    int64_t max_new_tokens);

}  // namespace ferret
