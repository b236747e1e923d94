// defines: read_tokenizer_json, TokenizerJson — what a Hugging Face tokenizer.json describes
#pragma once

#include <string>

#include "data/bpe_tokenizer.hpp"

namespace ferret {

struct TokenizerJson {
  BpeVocab vocab;
  bool ignore_merges = false;  // LLaMA-3: a piece that is a whole vocab entry is not merged
};

// `path` and the tokenizer_config.json beside it (BOS/EOS, add_bos_token, chat template).
// std::runtime_error "tokenizer '<file>': <what is wrong>" naming the file at fault.
TokenizerJson read_tokenizer_json(const std::string& path);

}  // namespace ferret
