// Weight readers: Hugging Face safetensors folders (single and sharded) and GGUF files, written here
// byte by byte, read back through open_safetensors / open_gguf; every error names the tensor or key.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/weights.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace ferret;

namespace {

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
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);  // exact for the values used below (few mantissa bits)
}

// fp16 of small exact values (integers and halves up to 1024).
uint16_t to_f16(float f) {
  if (f == 0.0f) return 0;
  const uint16_t sign = f < 0 ? 0x8000 : 0;
  f = std::fabs(f);
  int e = 0;
  while (f >= 2.0f) { f /= 2; ++e; }
  while (f < 1.0f) { f *= 2; --e; }
  return static_cast<uint16_t>(sign | ((e + 15) << 10) | static_cast<uint16_t>(std::lround((f - 1.0f) * 1024)));
}

// ---- a tiny LlamaForCausalLM ------------------------------------------------------------------

ModelConfig tiny_config() {
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
std::vector<Tensor> tiny_tensors() {
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

json tiny_config_json() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 8},
          {"intermediate_size", 12}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
          {"num_key_value_heads", 1}, {"vocab_size", 16}, {"rms_norm_eps", 1e-5},
          {"rope_parameters", {{"rope_theta", 5e5}, {"rope_type", "default"}}}, {"tie_word_embeddings", true},
          {"max_position_embeddings", 64}};
}

// One safetensors file of `tensors`, stored as `dtype` (F32, F16 or BF16).
void write_safetensors(const fs::path& file, const std::vector<Tensor>& tensors, const std::string& dtype) {
  json header = {{"__metadata__", {{"format", "pt"}}}};
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

void expect_reads_tiny_model(const WeightFile& w) {
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

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Safetensors, ReadsASingleFileInEveryFloatDtype) {
  for (const std::string dtype : {"F32", "F16", "BF16"}) {
    TempDir dir;
    std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
    write_safetensors(dir.path() / "model.safetensors", tiny_tensors(), dtype);
    const auto w = open_safetensors(dir.path().string());
    EXPECT_EQ(w->max_position_embeddings(), 64);
    for (const TensorInfo& t : w->tensors()) EXPECT_EQ(t.dtype, dtype);
    expect_reads_tiny_model(*w);
  }
}

TEST(Safetensors, ReadsShardsThroughTheIndex) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  auto tensors = tiny_tensors();
  const std::vector<Tensor> first(tensors.begin(), tensors.begin() + 5), second(tensors.begin() + 5, tensors.end());
  write_safetensors(dir.path() / "model-00001-of-00002.safetensors", first, "F32");
  write_safetensors(dir.path() / "model-00002-of-00002.safetensors", second, "BF16");
  json map;
  for (const Tensor& t : first) map[t.name] = "model-00001-of-00002.safetensors";
  for (const Tensor& t : second) map[t.name] = "model-00002-of-00002.safetensors";
  std::ofstream(dir.path() / "model.safetensors.index.json") << json{{"weight_map", map}}.dump();
  expect_reads_tiny_model(*open_safetensors(dir.path().string()));

  map[first[0].name] = "model-00002-of-00002.safetensors";  // the index lies about one tensor
  std::ofstream(dir.path() / "model.safetensors.index.json") << json{{"weight_map", map}}.dump();
  EXPECT_NE(error_of([&] { open_safetensors(dir.path().string()); })
                .find("places tensor 'model.embed_tokens.weight' in 'model-00002-of-00002.safetensors'"),
            std::string::npos);
}

TEST(Safetensors, ErrorsNameTheMissingOrMisShapedTensor) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  auto tensors = tiny_tensors();
  tensors.erase(tensors.begin() + 6);  // up_proj
  write_safetensors(dir.path() / "model.safetensors", tensors, "F32");
  auto w = open_safetensors(dir.path().string());
  EXPECT_NE(error_of([&] { check_llama_tensors(*w, tiny_config()); })
                .find("tensor 'model.layers.0.mlp.up_proj.weight' is missing (expected shape [12, 8])"),
            std::string::npos);

  tensors = tiny_tensors();
  tensors[2].shape = {8, 4};  // k_proj transposed
  write_safetensors(dir.path() / "model.safetensors", tensors, "F32");
  w = open_safetensors(dir.path().string());
  EXPECT_NE(error_of([&] { check_llama_tensors(*w, tiny_config()); })
                .find("'model.layers.0.self_attn.k_proj.weight' has shape [8, 4], expected [4, 8]"),
            std::string::npos);
  std::vector<float> wrong(3);
  EXPECT_NE(error_of([&] { w->read_fp32("model.norm.weight", wrong); }).find("expected 8"), std::string::npos);
}

TEST(Safetensors, ZeroSizeTensorsReadAsEmpty) {
  TempDir dir;  // memcpy from/to a null pointer was undefined behaviour (UBSan)
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  auto tensors = tiny_tensors();
  tensors.push_back({"extra.empty", {0, 8}, {}});
  write_safetensors(dir.path() / "model.safetensors", tensors, "F32");
  std::vector<float> none;
  EXPECT_NO_THROW(open_safetensors(dir.path().string())->read_fp32("extra.empty", none));
}

TEST(Safetensors, DeeplyNestedHeadersAreRefused) {
  TempDir dir;  // copying the nested value recursed until the stack overflowed
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string h = R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": )" + deep + "}}";
  std::string file;
  put(file, static_cast<uint64_t>(h.size()));
  std::ofstream(dir.path() / "model.safetensors", std::ios::binary) << file << h << std::string(4, '\0');
  EXPECT_NE(error_of([&] { open_safetensors(dir.path().string()); }).find("nests JSON deeper than 64 levels"),
            std::string::npos);
}

TEST(Safetensors, RejectsTruncatedFilesAndUnsupportedConfigs) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  write_safetensors(dir.path() / "model.safetensors", tiny_tensors(), "F32");
  fs::resize_file(dir.path() / "model.safetensors", fs::file_size(dir.path() / "model.safetensors") - 10);
  EXPECT_NE(error_of([&] { open_safetensors(dir.path().string()); }).find("truncated"), std::string::npos);

  json cfg = tiny_config_json();
  cfg["rope_parameters"]["rope_type"] = "llama3";
  std::ofstream(dir.path() / "config.json") << cfg.dump();
  EXPECT_NE(error_of([&] { open_safetensors(dir.path().string()); }).find("RoPE type 'llama3'"), std::string::npos);
  cfg = tiny_config_json();
  cfg["model_type"] = "mistral";
  cfg["architectures"] = {"MistralForCausalLM"};
  std::ofstream(dir.path() / "config.json") << cfg.dump();
  EXPECT_NE(error_of([&] { open_safetensors(dir.path().string()); }).find("model_type 'mistral' is unsupported"),
            std::string::npos);
  EXPECT_NE(error_of([&] { open_safetensors((dir.path() / "nope").string()); }).find("has no config.json"),
            std::string::npos);
}

// ---- GGUF ------------------------------------------------------------------------------------------

namespace {

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

std::string f32_bytes(const std::vector<float>& v) {
  std::string s;
  for (float x : v) put(s, x);
  return s;
}

// llama.cpp's Q/K row permutation (convert_hf_to_gguf's permute): HF row h·hd + j·hd/2 + i → h·hd + 2i + j.
std::vector<float> permute_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t heads) {
  std::vector<float> out(w.size());
  const int64_t hd = rows / heads;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::copy_n(w.begin() + (h * hd + j * hd / 2 + i) * cols, cols, out.begin() + (h * hd + 2 * i + j) * cols);
  return out;
}

// The tiny model as llama.cpp writes it, plus a byte-level tokenizer: q/k permuted, ggml names.
GgufWriter tiny_gguf() {
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

}  // namespace

TEST(Gguf, ReadsArchitectureAndUnpermutesQueryKeyRows) {
  TempDir dir;
  tiny_gguf().write(dir.path() / "tiny.gguf");
  const auto w = open_gguf((dir.path() / "tiny.gguf").string());
  EXPECT_EQ(w->max_position_embeddings(), 64);
  EXPECT_NEAR(w->model_config().rms_norm_eps, 1e-5, 1e-12);
  expect_reads_tiny_model(*w);  // names, shapes, config, values (q/k back in Hugging Face row order)
}

TEST(Gguf, DequantisesEveryBlockFormat) {
  // One 32-element row per type, built so the expected values are obvious: q_j = j mod 16 (4-bit) or
  // j - 16 (8-bit), scale d = 0.5, offset m = -1 where the format has one.
  std::string q8, q40, q41, q50, q51, f16;
  put(q8, to_f16(0.5f));
  for (int j = 0; j < 32; ++j) put(q8, static_cast<int8_t>(j - 16));
  auto nibbles = [](std::string& s) {  // low nibble: element j, high nibble: element j + 16, both j mod 16
    for (int j = 0; j < 16; ++j) s += static_cast<char>(j | (j << 4));
  };
  put(q40, to_f16(0.5f));
  nibbles(q40);
  put(q41, to_f16(0.5f));
  put(q41, to_f16(-1.0f));
  nibbles(q41);
  put(q50, to_f16(0.5f));
  put(q50, uint32_t{0xFFFF0000u});  // fifth bit set for elements 16..31
  nibbles(q50);
  put(q51, to_f16(0.5f));
  put(q51, to_f16(-1.0f));
  put(q51, uint32_t{0xFFFF0000u});
  nibbles(q51);
  for (int j = 0; j < 32; ++j) put(f16, to_f16(static_cast<float>(j) - 8.5f));

  GgufWriter g = tiny_gguf();
  g.tensor("extra.q8_0", {32}, 8, q8);
  g.tensor("extra.q4_0", {32}, 2, q40);
  g.tensor("extra.q4_1", {32}, 3, q41);
  g.tensor("extra.q5_0", {32}, 6, q50);
  g.tensor("extra.q5_1", {32}, 7, q51);
  g.tensor("extra.f16", {32}, 1, f16);
  TempDir dir;
  g.write(dir.path() / "q.gguf");
  const auto w = open_gguf((dir.path() / "q.gguf").string());
  std::vector<float> x(32);
  auto read = [&](const char* name) {
    w->read_fp32(name, x);
    return x;
  };
  const auto q8v = read("extra.q8_0"), q40v = read("extra.q4_0"), q41v = read("extra.q4_1");
  const auto q50v = read("extra.q5_0"), q51v = read("extra.q5_1"), f16v = read("extra.f16");
  for (int j = 0; j < 32; ++j) {
    const float nib = static_cast<float>(j % 16);
    EXPECT_EQ(q8v[j], 0.5f * static_cast<float>(j - 16)) << j;
    EXPECT_EQ(q40v[j], 0.5f * (nib - 8)) << j;
    EXPECT_EQ(q41v[j], 0.5f * nib - 1.0f) << j;
    const float five = nib + (j >= 16 ? 16.0f : 0.0f);
    EXPECT_EQ(q50v[j], 0.5f * (five - 16)) << j;
    EXPECT_EQ(q51v[j], 0.5f * five - 1.0f) << j;
    EXPECT_EQ(f16v[j], static_cast<float>(j) - 8.5f) << j;
  }
  for (const TensorInfo& t : w->tensors())
    if (t.name == "extra.q4_1") EXPECT_EQ(t.dtype, "Q4_1");
}

TEST(Gguf, ReadsTheByteLevelTokenizerFromMetadata) {
  GgufWriter g = tiny_gguf();
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, static_cast<char>('!' + b % 90)) + std::to_string(b));
  tokens.push_back("<|im_end|>");
  g.kv_string("tokenizer.ggml.model", "gpt2");
  g.kv_string("tokenizer.ggml.pre", "smollm");
  g.kv_strings("tokenizer.ggml.tokens", tokens);
  g.kv_strings("tokenizer.ggml.merges", {"!0 \"1"});
  std::vector<int32_t> types(257, 1);
  types[256] = 3;  // control
  g.kv_i32s("tokenizer.ggml.token_type", types);
  g.kv_u32("tokenizer.ggml.bos_token_id", 5);
  g.kv_u32("tokenizer.ggml.eos_token_id", 256);
  g.kv_bool("tokenizer.ggml.add_bos_token", false);
  g.kv_string("tokenizer.chat_template", "{% for m in messages %}{% endfor %}");
  TempDir dir;
  g.write(dir.path() / "t.gguf");
  const BpeVocab v = bpe_vocab_from_gguf((dir.path() / "t.gguf").string());
  EXPECT_EQ(v.tokens, tokens);
  EXPECT_EQ(v.merges, std::vector<std::string>{"!0 \"1"});
  EXPECT_EQ(v.special_ids, std::vector<int32_t>{256});
  EXPECT_EQ(v.pre_tokenizer, "smollm");
  EXPECT_EQ(v.bos_id, -1);  // add_bos_token = false: nothing is prepended
  EXPECT_EQ(v.eos_id, 256);
  EXPECT_FALSE(v.chat_template.empty());
}

TEST(Gguf, ErrorsNameTheFileAndWhatIsWrong) {
  TempDir dir;
  std::ofstream(dir.path() / "bad.gguf") << "GGML and more bytes";
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "bad.gguf").string()); }).find("not a GGUF file"),
            std::string::npos);
  tiny_gguf().write(dir.path() / "cut.gguf");
  fs::resize_file(dir.path() / "cut.gguf", fs::file_size(dir.path() / "cut.gguf") - 40);
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "cut.gguf").string()); }).find("past the end of the file"),
            std::string::npos);
  GgufWriter g = tiny_gguf();
  g.tensor("extra.q4_k", {256}, 12, std::string(144, '\0'));
  g.write(dir.path() / "k.gguf");
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "k.gguf").string()); }).find("ggml type 12, which is unsupported"),
            std::string::npos);
}

TEST(Gguf, ZeroSizeTensorsReadAsEmpty) {
  GgufWriter g = tiny_gguf();  // memcpy to a null destination was undefined behaviour (UBSan)
  g.tensor("extra.empty_f32", {8, 0}, 0, "");
  g.tensor("extra.empty_q8_0", {32, 0}, 8, "");
  TempDir dir;
  g.write(dir.path() / "z.gguf");
  const auto w = open_gguf((dir.path() / "z.gguf").string());
  std::vector<float> none;
  EXPECT_NO_THROW(w->read_fp32("extra.empty_f32", none));
  EXPECT_NO_THROW(w->read_fp32("extra.empty_q8_0", none));
}

TEST(Gguf, TensorOffsetsThatWrapAroundAreRefused) {
  GgufWriter g = tiny_gguf();
  g.tensor("extra.wrap", {8}, 0, f32_bytes(std::vector<float>(8, 1.0f)));
  TempDir dir;
  g.write(dir.path() / "w.gguf");
  std::string bytes;
  {
    std::ifstream in(dir.path() / "w.gguf", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // offset + data start = 2^64 ≡ 0: the old sum wrapped and pointed the tensor at the file's header.
  const uint64_t wrapped = 0 - g.data_start();
  std::memcpy(bytes.data() + bytes.find("extra.wrap") + 10 + 16, &wrapped, 8);  // after n_dims, dim, type
  std::ofstream(dir.path() / "w.gguf", std::ios::binary) << bytes;
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "w.gguf").string()); }).find("'extra.wrap' extends past the end"),
            std::string::npos);
}

TEST(Gguf, HeadCountsBeyondIntAreRefused) {
  GgufWriter g = tiny_gguf();  // later keys win: 2^31 - 1 heads overflowed int in the rotary-split check
  g.kv_u32("llama.embedding_length", 0x7fffffff);
  g.kv_u32("llama.attention.head_count", 0x7fffffff);
  TempDir dir;
  g.write(dir.path() / "h.gguf");
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "h.gguf").string()); }).find("does not split into 2147483647 rotary heads"),
            std::string::npos);
}

TEST(Gguf, CountsLargerThanTheFileAreRefusedBeforeAllocating) {
  GgufWriter g = tiny_gguf();
  std::string array;
  put(array, uint32_t{0});  // u8 elements
  put(array, uint64_t{1} << 62);
  g.kv_raw("extra.huge", 9, array);
  TempDir dir;
  g.write(dir.path() / "a.gguf");
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "a.gguf").string()); }).find("array of 4611686018427387904 elements"),
            std::string::npos);
}

TEST(Gguf, TokenizerMetadataOfTheWrongTypeOrRangeIsRefused) {
  auto error = [](const std::function<void(GgufWriter&)>& edit) {
    GgufWriter g = tiny_gguf();
    g.kv_string("tokenizer.ggml.model", "gpt2");
    g.kv_strings("tokenizer.ggml.tokens", {"a", "b"});
    edit(g);
    TempDir dir;
    g.write(dir.path() / "t.gguf");
    return error_of([&] { bpe_vocab_from_gguf((dir.path() / "t.gguf").string()); });
  };
  // Was truncated to int32 (id 1, accepted); a u32 add_bos_token threw std::bad_variant_access; a
  // scalar tokens key gave an empty vocabulary.
  EXPECT_NE(error([](GgufWriter& g) { g.kv_u64("tokenizer.ggml.eos_token_id", (uint64_t{1} << 32) + 1); })
                .find("'tokenizer.ggml.eos_token_id' is 4294967297, outside the vocabulary of 2 tokens"),
            std::string::npos);
  EXPECT_NE(error([](GgufWriter& g) { g.kv_u32("tokenizer.ggml.add_bos_token", 1); })
                .find("'tokenizer.ggml.add_bos_token' is not a bool"),
            std::string::npos);
  EXPECT_NE(error([](GgufWriter& g) { g.kv_string("tokenizer.ggml.tokens", "a"); })
                .find("'tokenizer.ggml.tokens' is not an array of strings"),
            std::string::npos);
}

TEST(Weights, CheckStopsAtTheFirstMissingLayer) {
  TempDir dir;  // it listed every expected tensor first: 2^40 layers exhausted the memory
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  write_safetensors(dir.path() / "model.safetensors", tiny_tensors(), "F32");
  ModelConfig m = tiny_config();
  m.num_layers = int64_t{1} << 40;
  EXPECT_NE(error_of([&] { check_llama_tensors(*open_safetensors(dir.path().string()), m); })
                .find("'model.layers.1.self_attn.q_proj.weight' is missing"),
            std::string::npos);
}

TEST(Gguf, SmolLm2FromTheWheelHasTheExpectedArchitecture) {
  const fs::path gguf = fs::path(FERRET_SOURCE_DIR) / ".venv/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(gguf)) GTEST_SKIP() << "SmolLM2 GGUF not found at " << gguf << " (run scripts/setup.sh)";
  const auto w = open_gguf(gguf.string());
  const ModelConfig m = w->model_config();
  EXPECT_EQ(m.num_layers, 30);
  EXPECT_EQ(m.hidden_size, 576);
  EXPECT_EQ(m.intermediate_size, 1536);
  EXPECT_EQ(m.num_heads, 9);
  EXPECT_EQ(m.num_kv_heads, 3);
  EXPECT_EQ(m.vocab_size, 49152);
  EXPECT_TRUE(m.tie_embeddings);
  EXPECT_DOUBLE_EQ(m.rope_theta, 100000.0);
  EXPECT_NO_THROW(check_llama_tensors(*w, m));
  const BpeVocab v = bpe_vocab_from_gguf(gguf.string());
  EXPECT_EQ(v.tokens.size(), 49152u);
  EXPECT_EQ(v.pre_tokenizer, "smollm");
  EXPECT_EQ(v.tokens[static_cast<size_t>(v.eos_id)], "<|im_end|>");
}
