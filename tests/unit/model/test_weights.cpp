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
#include "weight_files.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace ferret;
using namespace ferret::test_files;


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
  GgufWriter g = tiny_gguf();  // later keys win: 2^31 - 1 heads overflowed int in the rotary-split check;
  // now the width is refused before any check multiplies with it
  g.kv_u32("llama.embedding_length", 0x7fffffff);
  g.kv_u32("llama.attention.head_count", 0x7fffffff);
  TempDir dir;
  g.write(dir.path() / "h.gguf");
  EXPECT_NE(error_of([&] { open_gguf((dir.path() / "h.gguf").string()); }).find("'llama.embedding_length' is 2147483647 (allowed: 1 .. 1048576)"),
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
