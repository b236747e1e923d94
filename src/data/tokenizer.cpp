// defines: Byte-level tokenizer, the prompt templates, and the encoding of examples for training and generation.

#include "data/tokenizer.hpp"

#include <stdexcept>

#include "data/example.hpp"

namespace ferret {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  // Through unsigned char: bytes >= 0x80 must give 128..255, not negative ids.
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

std::string ByteTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (int32_t id : ids) {
    if (id == kEos) break;  // generation may run on past EOS; what follows is not part of the answer
    if (id < 0 || id >= kVocabSize)
      throw std::invalid_argument("ByteTokenizer::decode: token id " + std::to_string(id) + " is outside 0.." +
                                  std::to_string(kVocabSize - 1));
    if (id == kPad || id == kBos) continue;
    text.push_back(static_cast<char>(static_cast<unsigned char>(id)));
  }
  return text;
}

PromptTemplate parse_prompt_template(std::string_view name) {
  if (name == "alpaca") return PromptTemplate::alpaca;
  if (name == "chat") return PromptTemplate::chat;
  throw std::invalid_argument("prompt template '" + std::string(name) + "' is unknown (allowed: alpaca | chat)");
}

std::string format_prompt(const Example& example) {
  std::string prompt = "### Instruction:\n" + example.instruction + "\n\n";
  if (!example.input.empty()) prompt += "### Input:\n" + example.input + "\n\n";
  prompt += "### Response:\n";
  return prompt;
}

namespace {

enum class ChatFormat { chatml, llama3 };

ChatFormat chat_format(const Tokenizer& tokenizer) {
  if (tokenizer.special_id("<|im_start|>") && tokenizer.special_id("<|im_end|>")) return ChatFormat::chatml;
  if (tokenizer.special_id("<|start_header_id|>") && tokenizer.special_id("<|eot_id|>")) return ChatFormat::llama3;
  throw std::invalid_argument(
      "prompt template 'chat': the tokenizer has no chat special tokens (<|im_start|>/<|im_end|> or "
      "<|start_header_id|>/<|eot_id|>); use --prompt-template alpaca");
}

}  // namespace

std::string format_prompt(const Example& example, PromptTemplate tmpl, const Tokenizer& tokenizer) {
  if (tmpl == PromptTemplate::alpaca) return format_prompt(example);
  const std::string user = example.input.empty() ? example.instruction : example.instruction + "\n\n" + example.input;
  if (chat_format(tokenizer) == ChatFormat::chatml)
    return "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
  return "<|start_header_id|>user<|end_header_id|>\n\n" + user +
         "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
}

int32_t response_end_id(const Tokenizer& tokenizer, PromptTemplate tmpl) {
  if (tmpl == PromptTemplate::chat)
    return *tokenizer.special_id(chat_format(tokenizer) == ChatFormat::chatml ? "<|im_end|>" : "<|eot_id|>");
  if (tokenizer.eos_id() < 0) throw std::invalid_argument("the tokenizer has no EOS token to end a response");
  return tokenizer.eos_id();
}

namespace {

// The last `keep` prompt tokens: cutting on the left keeps the input's end and the "### Response:\n" marker.
std::vector<int32_t> prompt_tail(const std::vector<int32_t>& prompt, size_t keep) {
  if (keep >= prompt.size()) return prompt;
  return {prompt.end() - static_cast<std::ptrdiff_t>(keep), prompt.end()};
}

void append(EncodedExample& encoded, std::span<const int32_t> ids, uint8_t mask) {
  encoded.tokens.insert(encoded.tokens.end(), ids.begin(), ids.end());
  encoded.loss_mask.insert(encoded.loss_mask.end(), ids.size(), mask);
}

}  // namespace

EncodedExample encode_example(const Tokenizer& tokenizer, const Example& example, size_t max_len,
                              PromptTemplate tmpl) {
  if (max_len < 2)
    throw std::invalid_argument("encode_example: max_len " + std::to_string(max_len) +
                                " is too small (allowed: >= 2, room for BOS and one response token)");
  const std::vector<int32_t> prompt = tokenizer.encode(format_prompt(example, tmpl, tokenizer));
  std::vector<int32_t> response = tokenizer.encode(example.output);
  const int32_t bos = tokenizer.bos_id(), end = response_end_id(tokenizer, tmpl);
  const size_t bos_len = bos >= 0 ? 1 : 0;

  EncodedExample encoded;
  encoded.tokens.reserve(max_len);
  encoded.loss_mask.reserve(max_len);
  if (bos >= 0) append(encoded, {&bos, 1}, 0);
  if (response.size() + bos_len + 1 <= max_len) {
    append(encoded, prompt_tail(prompt, max_len - bos_len - 1 - response.size()), 0);
    append(encoded, response, 1);
    append(encoded, {&end, 1}, 1);
  } else {
    // Even the bare response does not fit: keep its start, and no end token since the answer did not end here.
    response.resize(max_len - bos_len);
    append(encoded, response, 1);
  }
  return encoded;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const Example& example, size_t max_len,
                                   PromptTemplate tmpl) {
  if (max_len < 1)
    throw std::invalid_argument("encode_prompt: max_len 0 is too small (allowed: >= 1, room for BOS)");
  std::vector<int32_t> tokens;
  if (tokenizer.bos_id() >= 0) tokens.push_back(tokenizer.bos_id());
  const std::vector<int32_t> tail =
      prompt_tail(tokenizer.encode(format_prompt(example, tmpl, tokenizer)), max_len - tokens.size());
  tokens.insert(tokens.end(), tail.begin(), tail.end());
  return tokens;
}

}  // namespace ferret
