// Test helpers for the weight readers: a tiny LlamaForCausalLM written as a safetensors folder or a
// GGUF file byte by byte (test_weights.cpp, test_weight_files_hostile.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/weights.hpp"

namespace ferret::test_files {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A fresh folder named after the running test, removed at the end.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("ferret_weights_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <typename T>
inline void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);  // exact for the values used below (few mantissa bits)
}

// fp16 of small exact values (integers and halves up to 1024).
inline uint16_t to_f16(float f) {
  if (f == 0.0f) return 0;
  const uint16_t sign = f < 0 ? 0x8000 : 0;
  f = std::fabs(f);
  int e = 0;
  while (f >= 2.0f) { f /= 2; ++e; }
  while (f < 1.0f) { f *= 2; --e; }
  return static_cast<uint16_t>(sign | ((e + 15) << 10) | static_cast<uint16_t>(std::lround((f - 1.0f) * 1024)));
}

// ---- a tiny LlamaForCausalLM ------------------------------------------------------------------

inline ModelConfig tiny_config() {
  ModelConfig m;
  m.hidden_size = 8;
  m.num_layers = 1;
  m.num_heads = 2;
  m.num_kv_heads = 1;
  m.intermediate_size = 12;
  m.vocab_size = 16;
  m.tie_embeddings = true;
  m.rope_theta = 5e5;
  m.rms_norm_eps = 1e-5;
  return m;
}

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Every tensor of tiny_config(), element i of tensor t = ±(i + 1)·2^(t − 5): distinct, sign alternating.
inline std::vector<Tensor> tiny_tensors() {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> specs = {
      {"model.embed_tokens.weight", {16, 8}},
      {"model.layers.0.self_attn.q_proj.weight", {8, 8}},
      {"model.layers.0.self_attn.k_proj.weight", {4, 8}},
      {"model.layers.0.self_attn.v_proj.weight", {4, 8}},
      {"model.layers.0.self_attn.o_proj.weight", {8, 8}},
      {"model.layers.0.mlp.gate_proj.weight", {12, 8}},
      {"model.layers.0.mlp.up_proj.weight", {12, 8}},
      {"model.layers.0.mlp.down_proj.weight", {8, 12}},
      {"model.layers.0.input_layernorm.weight", {8}},
      {"model.layers.0.post_attention_layernorm.weight", {8}},
      {"model.norm.weight", {8}},
  };
  std::vector<Tensor> out;
  for (size_t t = 0; t < specs.size(); ++t) {
    Tensor x{specs[t].first, specs[t].second, {}};
    int64_t n = 1;
    for (int64_t d : x.shape) n *= d;
    for (int64_t i = 0; i < n; ++i)  // at most 8 significant bits: exact in F16 and BF16 as well
      x.values.push_back(std::ldexp(static_cast<float>(i % 2 ? -(i + 1) : i + 1), static_cast<int>(t) - 5));
    out.push_back(std::move(x));
  }
  return out;
}

inline json tiny_config_json() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 8},
          {"intermediate_size", 12}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
          {"num_key_value_heads", 1}, {"vocab_size", 16}, {"rms_norm_eps", 1e-5},
          {"rope_parameters", {{"rope_theta", 5e5}, {"rope_type", "default"}}}, {"tie_word_embeddings", true},
          {"max_position_embeddings", 64}};
}

// One safetensors file of `tensors`, stored as `dtype` (F32, F16 or BF16).
// `extra`: header entries added as they are (hostile inputs: aliases, bad offsets).
inline void write_safetensors(const fs::path& file, const std::vector<Tensor>& tensors, const std::string& dtype,
                              const json& extra = json::object()) {
  json header = {{"__metadata__", {{"format", "pt"}}}};
  for (const auto& [name, entry] : extra.items()) header[name] = entry;
  std::string data;
  for (const Tensor& t : tensors) {
    const size_t begin = data.size();
    for (float v : t.values) {
      if (dtype == "F32") put(data, v);
      else if (dtype == "BF16") put(data, to_bf16(v));
      else put(data, to_f16(v));
    }
    header[t.name] = {{"dtype", dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  std::string out;
  put(out, static_cast<uint64_t>(h.size()));
  std::ofstream(file, std::ios::binary) << out << h << data;
}

inline void expect_reads_tiny_model(const WeightFile& w) {
  const ModelConfig m = w.model_config();
  EXPECT_EQ(m.hidden_size, 8);
  EXPECT_EQ(m.num_heads, 2);
  EXPECT_EQ(m.num_kv_heads, 1);
  EXPECT_EQ(m.intermediate_size, 12);
  EXPECT_EQ(m.vocab_size, 16);
  EXPECT_TRUE(m.tie_embeddings);
  EXPECT_DOUBLE_EQ(m.rope_theta, 5e5);
  EXPECT_NO_THROW(check_llama_tensors(w, tiny_config()));
  for (const Tensor& t : tiny_tensors()) {
    std::vector<float> got(t.values.size());
    w.read_fp32(t.name, got);
    EXPECT_EQ(got, t.values) << t.name;
  }
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}


// ---- GGUF ------------------------------------------------------------------------------------------

// A GGUF v3 writer for the few value and tensor types the tests need.
class GgufWriter {
 public:
  void kv_string(const std::string& key, const std::string& v) { key_(key, 8); str_(meta_, v); ++n_kv_; }
  void kv_u32(const std::string& key, uint32_t v) { key_(key, 4); put(meta_, v); ++n_kv_; }
  void kv_u64(const std::string& key, uint64_t v) { key_(key, 10); put(meta_, v); ++n_kv_; }
  void kv_raw(const std::string& key, uint32_t type, const std::string& value) { key_(key, type); meta_ += value; ++n_kv_; }
  void kv_f32(const std::string& key, float v) { key_(key, 6); put(meta_, v); ++n_kv_; }
  void kv_bool(const std::string& key, bool v) { key_(key, 7); put(meta_, static_cast<uint8_t>(v)); ++n_kv_; }
  void kv_strings(const std::string& key, const std::vector<std::string>& v) {
    key_(key, 9);
    put(meta_, uint32_t{8});
    put(meta_, static_cast<uint64_t>(v.size()));
    for (const auto& s : v) str_(meta_, s);
    ++n_kv_;
  }
  void kv_i32s(const std::string& key, const std::vector<int32_t>& v) {
    key_(key, 9);
    put(meta_, uint32_t{5});
    put(meta_, static_cast<uint64_t>(v.size()));
    for (int32_t x : v) put(meta_, x);
    ++n_kv_;
  }
  // `dims` in ggml order (fastest first); `bytes` the raw data of ggml type `type`.
  void tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, const std::string& bytes) {
    while (data_.size() % 32) data_ += '\0';
    str_(infos_, name);
    put(infos_, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(infos_, d);
    put(infos_, type);
    put(infos_, static_cast<uint64_t>(data_.size()));
    data_ += bytes;
    ++n_tensors_;
  }
  // A tensor info pointing at `offset` in the data section, adding no data (aliases, overlaps).
  void tensor_at(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str_(infos_, name);
    put(infos_, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(infos_, d);
    put(infos_, type);
    put(infos_, offset);
    ++n_tensors_;
  }
  uint64_t data_start() const { return (24 + meta_.size() + infos_.size() + 31) / 32 * 32; }
  void write(const fs::path& file) const {
    std::string out = "GGUF";
    put(out, uint32_t{3});
    put(out, n_tensors_);
    put(out, n_kv_);
    out += meta_ + infos_;
    while (out.size() % 32) out += '\0';
    std::ofstream(file, std::ios::binary) << out << data_;
  }

 private:
  void key_(const std::string& key, uint32_t type) { str_(meta_, key); put(meta_, type); }
  static void str_(std::string& out, const std::string& s) {
    put(out, static_cast<uint64_t>(s.size()));
    out += s;
  }
  std::string meta_, infos_, data_;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
};

inline std::string f32_bytes(const std::vector<float>& v) {
  std::string s;
  for (float x : v) put(s, x);
  return s;
}

// llama.cpp's Q/K row permutation (convert_hf_to_gguf's permute): HF row h·hd + j·hd/2 + i → h·hd + 2i + j.
inline std::vector<float> permute_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t heads) {
  std::vector<float> out(w.size());
  const int64_t hd = rows / heads;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::copy_n(w.begin() + (h * hd + j * hd / 2 + i) * cols, cols, out.begin() + (h * hd + 2 * i + j) * cols);
  return out;
}

// The tiny model as llama.cpp writes it, plus a byte-level tokenizer: q/k permuted, ggml names.
inline GgufWriter tiny_gguf() {
  GgufWriter g;
  g.kv_string("general.architecture", "llama");
  g.kv_u32("llama.embedding_length", 8);
  g.kv_u32("llama.block_count", 1);
  g.kv_u32("llama.feed_forward_length", 12);
  g.kv_u32("llama.attention.head_count", 2);
  g.kv_u32("llama.attention.head_count_kv", 1);
  g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.kv_f32("llama.rope.freq_base", 5e5f);
  g.kv_u32("llama.context_length", 64);
  const std::map<std::string, std::string> names = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"},
      {"model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight"},
      {"model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight"},
      {"model.layers.0.self_attn.o_proj.weight", "blk.0.attn_output.weight"},
      {"model.layers.0.mlp.gate_proj.weight", "blk.0.ffn_gate.weight"},
      {"model.layers.0.mlp.up_proj.weight", "blk.0.ffn_up.weight"},
      {"model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight"},
      {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight"},
      {"model.layers.0.post_attention_layernorm.weight", "blk.0.ffn_norm.weight"},
      {"model.norm.weight", "output_norm.weight"}};
  for (const Tensor& t : tiny_tensors()) {
    std::vector<uint64_t> dims(t.shape.rbegin(), t.shape.rend());
    std::vector<float> v = t.values;
    if (t.name.find("q_proj") != std::string::npos) v = permute_rows(v, 8, 8, 2);
    if (t.name.find("k_proj") != std::string::npos) v = permute_rows(v, 4, 8, 1);
    g.tensor(names.at(t.name), dims, 0, f32_bytes(v));
  }
  return g;
}


}  // namespace ferret::test_files
