// defines: the implementation of llama.hpp
#include "model/llama.hpp"

#include <ATen/autocast_mode.h>

#include <cmath>

#include "model/pretrained.hpp"

namespace ferret {
namespace {

torch::nn::Linear linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

// (…, head_dim) → the pairs (x1, x2) of each half rotated to (−x2, x1).
torch::Tensor rotate_half(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
}

LlamaAttentionImpl::LlamaAttentionImpl(const ModelConfig& c)
    : num_heads(c.num_heads), num_kv_heads(c.num_kv_heads), head_dim(c.hidden_size / c.num_heads) {
  q_proj = register_module("q_proj", linear(c.hidden_size, num_heads * head_dim));
  k_proj = register_module("k_proj", linear(c.hidden_size, num_kv_heads * head_dim));
  v_proj = register_module("v_proj", linear(c.hidden_size, num_kv_heads * head_dim));
  o_proj = register_module("o_proj", linear(num_heads * head_dim, c.hidden_size));
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                          torch::Tensor* cached_k, torch::Tensor* cached_v) {
  const int64_t B = x.size(0), T = x.size(1);
  auto q = q_proj(x).view({B, T, num_heads, head_dim}).transpose(1, 2);     // (B, H, T, hd)
  auto k = k_proj(x).view({B, T, num_kv_heads, head_dim}).transpose(1, 2);  // (B, Hkv, T, hd)
  auto v = v_proj(x).view({B, T, num_kv_heads, head_dim}).transpose(1, 2);
  q = apply_rope(q, cos, sin);
  k = apply_rope(k, cos, sin);
  // Causal masking as SDPA's is_causal aligns it (query i sees keys 0..i) is only right when there is
  // no cached prefix; a single new token sees everything cached, so it needs no mask at all.
  bool causal = true;
  if (cached_k != nullptr) {
    if (cached_k->defined()) {
      k = torch::cat({*cached_k, k}, 2);
      v = torch::cat({*cached_v, v}, 2);
      TORCH_CHECK(T == 1, "incremental decoding with a cached prefix takes one token at a time, got ", T);
      causal = false;
    }
    *cached_k = k;
    *cached_v = v;
  }
  if (num_kv_heads != num_heads) {  // grouped-query: each kv head serves num_heads/num_kv_heads query heads
    k = k.repeat_interleave(num_heads / num_kv_heads, 1);
    v = v.repeat_interleave(num_heads / num_kv_heads, 1);
  }
  auto y = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/causal);
  return o_proj(y.transpose(1, 2).reshape({B, T, num_heads * head_dim}));
}

LlamaMLPImpl::LlamaMLPImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", linear(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", linear(c.intermediate_size, c.hidden_size));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const ModelConfig& c) {
  // Registration order = parameter order = flat-vector order; matches Hugging Face's.
  self_attn = register_module("self_attn", LlamaAttention(c));
  mlp = register_module("mlp", LlamaMLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                             torch::Tensor* cached_k, torch::Tensor* cached_v) {
  auto h = x + self_attn->forward(input_layernorm(x), cos, sin, cached_k, cached_v);
  return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) layers->push_back(LlamaDecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  // RoPE tables: angle(t, i) = t · theta^(−2i/hd), duplicated over the two halves (HF layout).
  const int64_t hd = c.hidden_size / c.num_heads;
  auto inv_freq = torch::pow(c.rope_theta, -torch::arange(0, hd, 2, torch::kFloat64) / static_cast<double>(hd));
  auto angles = torch::outer(torch::arange(c.max_seq_len, torch::kFloat64), inv_freq);
  auto emb = torch::cat({angles, angles}, -1);
  rope_cos = register_buffer("rope_cos", emb.cos().to(torch::kFloat32));
  rope_sin = register_buffer("rope_sin", emb.sin().to(torch::kFloat32));
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& tokens) {
  const int64_t T = tokens.size(1);
  TORCH_CHECK(T <= rope_cos.size(0), "sequence of ", T, " tokens exceeds max-seq-len ", rope_cos.size(0));
  auto cos = rope_cos.narrow(0, 0, T), sin = rope_sin.narrow(0, 0, T);
  auto h = embed_tokens(tokens.to(rope_cos.device()));
  for (auto& layer : *layers) h = layer->as<LlamaDecoderLayer>()->forward(h, cos, sin);
  return norm(h);
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& tokens, KvCache& cache) {
  const int64_t T = tokens.size(1), start = cache.length;
  TORCH_CHECK(start + T <= rope_cos.size(0), "sequence of ", start + T, " tokens exceeds max-seq-len ", rope_cos.size(0));
  const auto L = static_cast<size_t>(layers->size());
  cache.keys.resize(L);
  cache.values.resize(L);
  auto cos = rope_cos.narrow(0, start, T), sin = rope_sin.narrow(0, start, T);
  auto h = embed_tokens(tokens.to(rope_cos.device()));
  for (size_t i = 0; i < L; ++i)
    h = layers[i]->as<LlamaDecoderLayer>()->forward(h, cos, sin, &cache.keys[i], &cache.values[i]);
  cache.length += T;
  return norm(h);
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const ModelConfig& c) : config(c) {
  model = register_module("model", LlamaModel(c));
  if (!c.tie_embeddings) lm_head = register_module("lm_head", linear(c.hidden_size, c.vocab_size));
}

torch::Tensor LlamaForCausalLMImpl::logits(const torch::Tensor& h) {
  return lm_head ? lm_head(h) : torch::matmul(h, model->embed_tokens->weight.t());
}

torch::Tensor LlamaForCausalLMImpl::forward(const torch::Tensor& tokens) { return logits(model->forward(tokens)); }

torch::Tensor LlamaForCausalLMImpl::forward(const torch::Tensor& tokens, KvCache& cache) {
  return logits(model->forward(tokens, cache));
}

void load_weights(LlamaForCausalLM& model, const WeightFile& weights) {
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    auto& tensor = p.value();
    TORCH_CHECK(tensor.is_contiguous() && tensor.scalar_type() == torch::kFloat32, "parameter ", p.key(),
                " is not contiguous fp32");
    weights.read_fp32(p.key(), std::span<float>(tensor.data_ptr<float>(), static_cast<size_t>(tensor.numel())));
  }
}

LoadedModel load_model(const Config& c) {
  LoadedModel out;
  if (c.model_dir.empty()) {
    ModelConfig mc = c.model;
    out.tokenizer = std::make_unique<ByteTokenizer>();
    mc.vocab_size = out.tokenizer->vocab_size();
    check_model_fits_memory(mc, "--hidden-size = " + std::to_string(mc.hidden_size) + ", --layers = " +
                                    std::to_string(mc.num_layers) + ", --intermediate-size = " +
                                    std::to_string(mc.intermediate_size));
    out.model = make_model(mc, c.seed);
    out.description = "embedded byte-level model (random init from --seed)";
    return out;
  }
  Pretrained pretrained = open_pretrained(c.model_dir, c.model.max_seq_len);
  check_model_fits_memory(pretrained.model, "--model-dir '" + c.model_dir + "'");
  out.model = make_model(pretrained.model, c.seed);  // the random init is overwritten next
  load_weights(out.model, *pretrained.weights);
  out.tokenizer = std::move(pretrained.tokenizer);
  const ModelConfig& m = pretrained.model;
  out.description = pretrained.format + " model '" + pretrained.path + "': hidden " + std::to_string(m.hidden_size) +
                    ", layers " + std::to_string(m.num_layers) + ", heads " + std::to_string(m.num_heads) + "/" +
                    std::to_string(m.num_kv_heads) + ", vocab " + std::to_string(m.vocab_size) +
                    (m.tie_embeddings ? ", tied head" : "");
  return out;
}

PrecisionScope::PrecisionScope(Precision dtype, torch::Device device)
    : device_type_(device.type()), previous_dtype_(at::kFloat) {
  if (dtype == Precision::fp32) return;
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_, at::kBFloat16);
  at::autocast::set_autocast_enabled(device_type_, true);
}

PrecisionScope::~PrecisionScope() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(device_type_, was_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
  // The bf16 copies of the weights cached by autocast are stale once the fp32 masters change.
  at::autocast::clear_cache();
}

LlamaForCausalLM make_model(const ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  LlamaForCausalLM m(c);
  torch::NoGradGuard no_grad;
  // GPT-2/LLaMA-style init; output projections scaled by 1/sqrt(2·layers) to keep the residual stream O(1).
  const double out_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.num_layers));
  for (auto& p : m->named_parameters()) {
    const auto& name = p.key();
    if (name.find("norm") != std::string::npos) continue;
    const bool residual_out = name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
    p.value().normal_(0.0, residual_out ? out_std : 0.02);
  }
  return m;
}

std::pair<torch::Tensor, int64_t> masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                                                 const torch::Tensor& mask) {
  const int64_t V = logits.size(-1);
  auto pred = logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, V});
  // Batches are built on the host; the loss is computed where the logits are.
  auto target = tokens.narrow(1, 1, tokens.size(1) - 1).reshape({-1}).to(logits.device());
  auto weight = mask.narrow(1, 1, mask.size(1) - 1).reshape({-1}).to(logits.device(), torch::kFloat32);
  auto per_token = torch::nn::functional::cross_entropy(
      pred, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  const int64_t count = static_cast<int64_t>(weight.sum().item<float>());
  return {(per_token * weight).sum() / std::max<int64_t>(count, 1), count};
}

}  // namespace ferret
