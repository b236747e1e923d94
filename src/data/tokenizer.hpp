// defines: Tokenizer (the interface the data, training and evaluation code uses), ByteTokenizer
//
// Two implementations: ByteTokenizer (every UTF-8 byte is a token; the embedded toy models) and
// BpeTokenizer (bpe_tokenizer.hpp: byte-level BPE of pretrained GPT-2/LLaMA-3/SmolLM models).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferret {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of plain text: no BOS/EOS are added. Special-token strings inside the text are
  // encoded as their special ids, as Hugging Face `tokenizers` does by default.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  // Text of the ids up to the first EOS (excluded); other special/control tokens are skipped.
  // Throws std::invalid_argument for an id outside 0..vocab_size()-1.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // prepended to every sequence; -1 when the model uses none
  virtual int32_t eos_id() const = 0;  // ends a response; generation stops there
  // Id of a special/added token such as "<|im_start|>", if the vocabulary has it.
  virtual std::optional<int32_t> special_id(std::string_view token) const = 0;
  // A chat template (special tokens of the model's own prompt format) is available.
  virtual bool has_chat_template() const { return false; }
};

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kPad = 256, kBos = 257, kEos = 258;
  static constexpr int32_t kVocabSize = 259;

  // One id per byte, in 0..255; any byte sequence (also invalid UTF-8) round-trips through decode.
  std::vector<int32_t> encode(std::string_view text) const override;
  // Bytes of the ids up to the first kEos (excluded); kPad and kBos are skipped.
  std::string decode(std::span<const int32_t> ids) const override;

  int32_t vocab_size() const override { return kVocabSize; }
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  std::optional<int32_t> special_id(std::string_view) const override { return std::nullopt; }
};

}  // namespace ferret
