// defines: Pretrained, open_pretrained — what --model-dir names: weights, architecture and tokenizer
//
// Two layouts: a Hugging Face folder (config.json, model.safetensors or shards + index,
// tokenizer.json) and a GGUF file (or a folder holding exactly one *.gguf), whose metadata carries
// the architecture and the tokenizer. Torch-free; model/llama.hpp's load_model copies the weights in.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "data/tokenizer.hpp"
#include "model/weights.hpp"

namespace ferret {

struct Pretrained {
  std::unique_ptr<WeightFile> weights;
  std::unique_ptr<Tokenizer> tokenizer;
  ModelConfig model;      // the file's architecture, with max_seq_len = the requested one
  std::string format;     // "safetensors" | "gguf"
  std::string path;       // the file or folder read
};

// Opens `path` (see above). max_seq_len must not exceed the model's max positions. Throws ConfigError
// with one line naming the path and what is missing or wrong.
Pretrained open_pretrained(const std::string& path, int64_t max_seq_len);

}  // namespace ferret
