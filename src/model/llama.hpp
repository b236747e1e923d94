// defines: LlamaForCausalLM (a LLaMA-style decoder), masked_lm_loss
//
// Embeddings → L × [RMSNorm → causal self-attention with RoPE (grouped-query when
// num_kv_heads < num_heads) → residual → RMSNorm → SwiGLU MLP → residual] → RMSNorm → head.
// Parameter names follow Hugging Face's LlamaForCausalLM (model.embed_tokens.weight,
// model.layers.0.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight) so that
// pretrained weights can be loaded by name. With tied embeddings there is no lm_head.weight.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "config/config.hpp"
#include "data/tokenizer.hpp"
#include "model/weights.hpp"

namespace ferret {

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// Keys and values of the positions seen so far, per layer, for incremental decoding: a step then
// costs O(T) attention instead of re-running the whole prefix.
struct KvCache {
  std::vector<torch::Tensor> keys, values;  // per layer: (B, Hkv, T_seen, head_dim)
  int64_t length = 0;                       // T_seen
};

struct LlamaAttentionImpl : torch::nn::Module {
  explicit LlamaAttentionImpl(const ModelConfig& c);
  // x: (B, T, C); cos/sin: (T, head_dim) of x's positions. With a cache entry (k, v of earlier
  // positions, possibly undefined), x's keys/values are appended to it and attention covers both.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        torch::Tensor* cached_k = nullptr, torch::Tensor* cached_v = nullptr);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t num_heads, num_kv_heads, head_dim;
};
TORCH_MODULE(LlamaAttention);

struct LlamaMLPImpl : torch::nn::Module {
  explicit LlamaMLPImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x))
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMLP);

struct LlamaDecoderLayerImpl : torch::nn::Module {
  explicit LlamaDecoderLayerImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        torch::Tensor* cached_k = nullptr, torch::Tensor* cached_v = nullptr);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

struct LlamaModelImpl : torch::nn::Module {
  explicit LlamaModelImpl(const ModelConfig& c);
  // (B, T) int64 → hidden (B, T, C). Tokens may be on the host: they are moved to the model's device.
  torch::Tensor forward(const torch::Tensor& tokens);
  // tokens at positions cache.length … cache.length + T − 1, attending to the cached prefix; extends the cache.
  torch::Tensor forward(const torch::Tensor& tokens, KvCache& cache);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
  torch::Tensor rope_cos, rope_sin;  // buffers (max_seq_len, head_dim)
};
TORCH_MODULE(LlamaModel);

struct LlamaForCausalLMImpl : torch::nn::Module {
  explicit LlamaForCausalLMImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& tokens);  // (B, T) → logits (B, T, vocab)
  torch::Tensor forward(const torch::Tensor& tokens, KvCache& cache);  // incremental: logits of the new tokens
  torch::Tensor logits(const torch::Tensor& hidden);
  torch::Device device() const { return model->rope_cos.device(); }  // where the model lives (module.to)
  ModelConfig config;
  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_embeddings
};
TORCH_MODULE(LlamaForCausalLM);

// Builds the model with deterministic initialisation from `seed` (std 0.02, zero-free, norms 1).
LlamaForCausalLM make_model(const ModelConfig& c, uint64_t seed);

// Copies every parameter of `model` from `weights` by Hugging Face name (converted to fp32). The
// shapes were checked when the file was opened; a missing tensor is an error naming it.
void load_weights(LlamaForCausalLM& model, const WeightFile& weights);

// The run's model and tokenizer: without --model-dir the embedded byte-level model (random init
// from --seed, architecture from the options); with it, the pretrained weights and tokenizer
// (architecture from the file; --max-seq-len still applies). Errors are ConfigError.
struct LoadedModel {
  LlamaForCausalLM model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
  std::string description;  // one line for the log: what was loaded
};
LoadedModel load_model(const Config& c);

// Mixed precision for a scope: with bf16, matmuls and activations run in bfloat16 under LibTorch's
// autocast while the parameters (the master weights Ferret projects and updates) stay fp32.
class PrecisionScope {
 public:
  PrecisionScope(Precision dtype, torch::Device device);  // fp32: a no-op
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  at::DeviceType device_type_;
  at::ScalarType previous_dtype_;
};

// Mean next-token cross entropy over positions whose *target* has mask 1.
// tokens, mask: (B, T); logits: (B, T, V). Returns (loss, number of target tokens).
std::pair<torch::Tensor, int64_t> masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                                                 const torch::Tensor& mask);

}  // namespace ferret
