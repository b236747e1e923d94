// defines: Example, EncodedExample, ClientData, FederatedData, PromptTemplate, format_prompt, encode_example
//
// Shared data types of the federated instruction-tuning data, the Alpaca-style prompt template,
// and the encoding of an example into tokens + loss mask. Sources: data/embedded_tasks.hpp (embedded synthetic
// tasks) and data/natural_instructions.hpp (Natural Instructions files).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/tokenizer.hpp"

namespace ferret {

struct Example {
  std::string instruction;
  std::string input;   // may be empty: the template then has no Input section
  std::string output;  // the reference response
};

struct ClientData {
  std::string name;            // the task(s) it holds, joined by '+', e.g. "reverse+sort_letters"
  std::vector<Example> train;  // never empty for data made by this module
};

struct FederatedData {
  std::vector<ClientData> clients;
  std::vector<Example> eval;  // held-out instances; none of them is in any client's train
};

// How an example becomes a prompt: the Alpaca template (the paper's), or the model's own chat format.
enum class PromptTemplate { alpaca, chat };
PromptTemplate parse_prompt_template(std::string_view name);  // "alpaca" | "chat", else std::invalid_argument

// "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";
// without the "### Input:\n{input}\n\n" part when input is empty.
std::string format_prompt(const Example& example);

// The prompt text in `tmpl`. chat: one user turn holding "{instruction}\n\n{input}" (or the instruction
// alone) and the opening of the assistant turn, in the tokenizer's chat format: ChatML
// (<|im_start|>/<|im_end|>, SmolLM2, Qwen) or LLaMA-3 (<|start_header_id|>/<|eot_id|>). The special-token
// strings in the text are encoded to their ids by the tokenizer. std::invalid_argument when `tmpl` is chat
// and the tokenizer has neither format's special tokens.
std::string format_prompt(const Example& example, PromptTemplate tmpl, const Tokenizer& tokenizer);

// The token that ends a response: EOS for alpaca; the end of the assistant turn for chat (<|im_end|>,
// <|eot_id|>). Training appends it; generation stops at it (and at EOS).
int32_t response_end_id(const Tokenizer& tokenizer, PromptTemplate tmpl);

struct EncodedExample {
  std::vector<int32_t> tokens;     // [BOS] + prompt + response [+ end token]
  std::vector<uint8_t> loss_mask;  // same length; 1 on response tokens and the end token, 0 on BOS and prompt
};

// [BOS] + prompt + output + end token, at most max_len tokens (max_len >= 2, else std::invalid_argument);
// BOS only when the tokenizer has one (bos_id() >= 0). Truncation, when the whole does not fit:
//   1. the prompt is cut from the LEFT (tokens right after BOS are dropped), so the end of the input and the
//      "### Response:\n" marker stay next to the response: the model still sees where its answer starts;
//   2. only if [BOS] + response + end alone exceeds max_len, the prompt is dropped entirely and the response is
//      cut on the right WITHOUT the end token (the answer was cut, so "stop here" would be wrong).
// The response is never cut while any prompt token remains.
EncodedExample encode_example(const Tokenizer& tokenizer, const Example& example, size_t max_len,
                              PromptTemplate tmpl = PromptTemplate::alpaca);

// [BOS] + prompt, for generation: the same left cut of the prompt as encode_example, to at most
// max_len tokens (max_len >= 1, else std::invalid_argument). The output field is ignored.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const Example& example, size_t max_len,
                                   PromptTemplate tmpl = PromptTemplate::alpaca);

// Deterministic randomness of the data sources (defined in src/tasks.cpp). Only std::mt19937_64's raw output is
// used (its sequence is fixed by the standard); the distributions of <random> are implementation-defined and would
// give different data on different standard libraries.
namespace detail {
uint64_t mix64(uint64_t x);                         // splitmix64 finaliser: a bijective 64-bit scramble
uint64_t hash_string(std::string_view text);        // FNV-1a 64
uint64_t stream_seed(std::initializer_list<uint64_t> parts);  // order-sensitive combination of mix64'ed parts
uint64_t bounded_draw(std::mt19937_64& rng, uint64_t n);       // uniform in [0, n) by rejection; n >= 1
template <class T>
void deterministic_shuffle(std::vector<T>& items, std::mt19937_64& rng) {  // Fisher–Yates with bounded_draw
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[bounded_draw(rng, i)]);
}
}  // namespace detail

}  // namespace ferret
