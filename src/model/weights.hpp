// defines: TensorInfo, WeightFile, open_safetensors, open_gguf, GgufMetadata — pretrained weights on disk
//
// Torch-free readers of the two formats users hold: a Hugging Face model directory (config.json,
// model.safetensors or sharded model-0000X-of-0000N.safetensors + model.safetensors.index.json) and
// a GGUF file (llama.cpp). Both present tensors under Hugging Face LlamaForCausalLM names and shapes
// (row-major, torch order), converted to fp32, so the model code has one loading path.

#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "data/bpe_tokenizer.hpp"
#include "config/config.hpp"

namespace ferret {

struct TensorInfo {
  std::string name;            // Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // torch order, e.g. {out_features, in_features}
  std::string dtype;           // as stored: F32, F16, BF16, Q4_0, Q4_1, Q8_0, ...
};

class WeightFile {
 public:
  virtual ~WeightFile() = default;
  virtual const std::vector<TensorInfo>& tensors() const = 0;
  // Reads tensor `name` converted to fp32 into `out` (out.size() must equal its element count).
  // std::runtime_error naming the tensor and the file when it is missing, mis-sized or corrupt.
  virtual void read_fp32(const std::string& name, std::span<float> out) const = 0;
  // The model architecture the file describes (config.json, or GGUF llama.* metadata);
  // max_seq_len is left as the caller's (the file's context length is only an upper bound).
  virtual ModelConfig model_config() const = 0;
  virtual int64_t max_position_embeddings() const = 0;
};

// A Hugging Face directory: config.json (LlamaForCausalLM) + model.safetensors or an index with shards.
std::unique_ptr<WeightFile> open_safetensors(const std::string& dir);

// A GGUF v2/v3 file with general.architecture = llama; Q/K weights are un-permuted back to the
// Hugging Face rotary layout; quantised tensors (Q4_0, Q4_1, Q8_0, F16, BF16, F32) are dequantised.
std::unique_ptr<WeightFile> open_gguf(const std::string& path);

// Checks that `weights` holds every tensor of a LlamaForCausalLM with architecture `model` (names as
// model/llama.hpp registers them, e.g. "model.layers.3.mlp.up_proj.weight"; "lm_head.weight" only when the
// embeddings are untied) with exactly the expected shape. std::runtime_error naming the first missing or
// mis-shaped tensor (with expected and found shapes).
void check_llama_tensors(const WeightFile& weights, const ModelConfig& model);

// The number of parameters of a LlamaForCausalLM with architecture `model` (a double: an estimate
// for sizes no machine holds must not overflow).
double llama_parameter_count(const ModelConfig& model);

// Refuses, before anything is allocated, a model whose fp32 weights and gradients alone (8 bytes a
// parameter) exceed this machine's physical memory: std::runtime_error "<what>: the model has N
// parameters, at least X GiB ..., more than this machine's Y GiB". `what` names the options or file.
void check_model_fits_memory(const ModelConfig& model, const std::string& what);

// The byte-level BPE vocabulary in a GGUF file's tokenizer.ggml.* metadata (model "gpt2").
BpeVocab bpe_vocab_from_gguf(const std::string& path);

}  // namespace ferret
