// Byte-level tokenizer, the prompt template, and the encoding of examples for training and generation.

#include "ferret/tokenizer.hpp"

#include <stdexcept>

#include "ferret/data.hpp"

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

std::string format_prompt(const Example& example) {
  std::string prompt = "### Instruction:\n" + example.instruction + "\n\n";
  if (!example.input.empty()) prompt += "### Input:\n" + example.input + "\n\n";
  prompt += "### Response:\n";
  return prompt;
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

EncodedExample encode_example(const ByteTokenizer& tokenizer, const Example& example, size_t max_len) {
  if (max_len < 2)
    throw std::invalid_argument("encode_example: max_len " + std::to_string(max_len) +
                                " is too small (allowed: >= 2, room for BOS and one response token)");
  const std::vector<int32_t> prompt = tokenizer.encode(format_prompt(example));
  std::vector<int32_t> response = tokenizer.encode(example.output);

  EncodedExample encoded;
  encoded.tokens.reserve(max_len);
  encoded.loss_mask.reserve(max_len);
  const int32_t bos = ByteTokenizer::kBos, eos = ByteTokenizer::kEos;
  append(encoded, {&bos, 1}, 0);
  if (response.size() + 2 <= max_len) {
    append(encoded, prompt_tail(prompt, max_len - 2 - response.size()), 0);
    append(encoded, response, 1);
    append(encoded, {&eos, 1}, 1);
  } else {
    // Even the bare response does not fit: keep its start, and no EOS since the answer did not end here.
    response.resize(max_len - 1);
    append(encoded, response, 1);
  }
  return encoded;
}

std::vector<int32_t> encode_prompt(const ByteTokenizer& tokenizer, const Example& example, size_t max_len) {
  if (max_len < 1)
    throw std::invalid_argument("encode_prompt: max_len 0 is too small (allowed: >= 1, room for BOS)");
  std::vector<int32_t> tokens{ByteTokenizer::kBos};
  const std::vector<int32_t> tail = prompt_tail(tokenizer.encode(format_prompt(example)), max_len - 1);
  tokens.insert(tokens.end(), tail.begin(), tail.end());
  return tokens;
}

}  // namespace ferret
