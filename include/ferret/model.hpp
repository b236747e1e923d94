// defines: LlamaForCausalLM (a LLaMA-style decoder), masked_lm_loss
//
// Embeddings → L × [RMSNorm → causal self-attention with RoPE (grouped-query when
// num_kv_heads < num_heads) → residual → RMSNorm → SwiGLU MLP → residual] → RMSNorm → head.
// Parameter names follow Hugging Face's LlamaForCausalLM (model.embed_tokens.weight,
// model.layers.0.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight) so that
// pretrained weights can be loaded by name. With tied embeddings there is no lm_head.weight.
#pragma once

#include <torch/torch.h>

#include "ferret/config.hpp"

namespace ferret {

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

struct LlamaAttentionImpl : torch::nn::Module {
  explicit LlamaAttentionImpl(const ModelConfig& c);
  // x: (B, T, C); cos/sin: (T, head_dim)
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
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
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

struct LlamaModelImpl : torch::nn::Module {
  explicit LlamaModelImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& tokens);  // (B, T) int64 → hidden (B, T, C)
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
  torch::Tensor rope_cos, rope_sin;  // buffers (max_seq_len, head_dim)
};
TORCH_MODULE(LlamaModel);

struct LlamaForCausalLMImpl : torch::nn::Module {
  explicit LlamaForCausalLMImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& tokens);  // (B, T) → logits (B, T, vocab)
  ModelConfig config;
  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_embeddings
};
TORCH_MODULE(LlamaForCausalLM);

// Builds the model with deterministic initialisation from `seed` (std 0.02, zero-free, norms 1).
LlamaForCausalLM make_model(const ModelConfig& c, uint64_t seed);

// Mean next-token cross entropy over positions whose *target* has mask 1.
// tokens, mask: (B, T); logits: (B, T, V). Returns (loss, number of target tokens).
std::pair<torch::Tensor, int64_t> masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                                                 const torch::Tensor& mask);

}  // namespace ferret
