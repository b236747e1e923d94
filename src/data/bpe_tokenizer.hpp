// defines: BpeVocab, BpeTokenizer — byte-level BPE (GPT-2 / LLaMA-3 / SmolLM2 style)
//
// Encoding: split the text on added/special tokens (matched literally, longest first) → split each
// remaining piece with the model's pre-tokenizer regex (hand-written matcher; Unicode letter/number/
// whitespace classes from generated tables) → map each piece's UTF-8 bytes through GPT-2's
// byte-to-unicode table → apply merges by rank (lowest rank first) → look the symbols up in the vocab.
// Decoding is the inverse map; special tokens other than EOS are skipped.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizer.hpp"

namespace ferret {

// Everything a byte-level BPE needs, as stored in tokenizer.json or in GGUF metadata.
struct BpeVocab {
  std::vector<std::string> tokens;    // id → token string (byte-to-unicode form for normal tokens)
  std::vector<std::string> merges;    // "a b", by rank (index 0 = first merge)
  std::vector<int32_t> special_ids;   // added/special tokens, matched literally in text, never merged
  // Pre-tokenizer: "gpt2" (GPT-2 regex), "llama3" (LLaMA-3 regex), "smollm" (digits split one by one,
  // then the GPT-2 regex, as SmolLM2's Sequence[Digits(individual), ByteLevel]).
  std::string pre_tokenizer = "gpt2";
  int32_t bos_id = -1, eos_id = -1;
  // Stands for a byte whose byte-level token is not in the vocabulary (real vocabularies lack some
  // control bytes); -1 drops such bytes, as `tokenizers` does when the model has no unk_token.
  int32_t unk_id = -1;
  std::string chat_template;          // the Jinja text, kept only to know one exists
};

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(BpeVocab vocab);  // std::invalid_argument naming a bad merge/token/pre-tokenizer

  // Hugging Face tokenizer.json (model.type "BPE" with a ByteLevel decoder). The pre-tokenizer is
  // recognised from its regex / Digits+ByteLevel sequence; anything else is an error naming it.
  // BOS/EOS: from tokenizer_config.json beside it when present, else from well-known names
  // (<|begin_of_text|>, <|endoftext|>, <s>, </s>, <|im_end|>...). std::runtime_error naming the path.
  static BpeTokenizer from_tokenizer_json(const std::string& path);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t vocab_size() const override;
  int32_t bos_id() const override;
  int32_t eos_id() const override;
  std::optional<int32_t> special_id(std::string_view token) const override;
  bool has_chat_template() const override;

  ~BpeTokenizer() override;
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The pieces the pre-tokenizer `pre_tokenizer` (gpt2 | llama3 | smollm) cuts `text` into, before any merge
// (views into `text`). Exposed for tests and for debugging a tokenisation difference.
std::vector<std::string_view> bpe_pre_tokenize(std::string_view pre_tokenizer, std::string_view text);

}  // namespace ferret
