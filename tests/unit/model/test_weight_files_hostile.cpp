// Weight files that lie: tensors sharing bytes, architecture numbers no LLaMA has. Each was accepted
// before (a run then trained on garbage or allocated gigabytes); each is now one line naming the file
// and the key or tensors. Inputs are written here byte by byte (weight_files.hpp).

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "model/weights.hpp"
#include "weight_files.hpp"

using namespace ferret;
using namespace ferret::test_files;

namespace {

std::string gguf_error(GgufWriter g) {
  TempDir dir;
  g.write(dir.path() / "m.gguf");
  return error_of([&] { open_gguf((dir.path() / "m.gguf").string()); });
}

std::string config_error(const json& cfg) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << cfg.dump();
  write_safetensors(dir.path() / "model.safetensors", tiny_tensors(), "F32");
  return error_of([&] { open_safetensors(dir.path().string()); });
}

}  // namespace

TEST(HostileGguf, TensorsSharingBytesAreRefused) {
  GgufWriter g = tiny_gguf();
  g.tensor_at("extra.alias", {8}, 0, 0);  // the bytes of token_embd.weight, read a second time
  const std::string e = gguf_error(g);
  EXPECT_NE(e.find("m.gguf': tensors '"), std::string::npos) << e;  // absolute offsets in the file:
  const uint64_t at = g.data_start();                                 // the data section's first 32 bytes
  EXPECT_NE(e.find("share bytes [" + std::to_string(at) + ", " + std::to_string(at + 32) + ")"), std::string::npos) << e;
  EXPECT_NE(e.find("'model.embed_tokens.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("'extra.alias'"), std::string::npos) << e;
}

TEST(HostileGguf, ArchitectureNumbersOutsideWhatALlamaCanBeAreRefused) {
  auto with = [](const std::function<void(GgufWriter&)>& edit) {
    GgufWriter g = tiny_gguf();  // a later key overrides the earlier one
    edit(g);
    return gguf_error(g);
  };
  EXPECT_NE(with([](GgufWriter& g) { g.kv_u32("llama.block_count", 0); })
                .find("metadata key 'llama.block_count' is 0 (allowed: 1 .. 1024)"),
            std::string::npos);
  EXPECT_NE(with([](GgufWriter& g) { g.kv_u32("llama.block_count", 0xffffffffu); })
                .find("'llama.block_count' is 4294967295 (allowed: 1 .. 1024)"),
            std::string::npos);
  EXPECT_NE(with([](GgufWriter& g) { g.kv_f32("llama.rope.freq_base", std::numeric_limits<float>::quiet_NaN()); })
                .find("'llama.rope.freq_base' is nan (allowed: a finite number > 0"),
            std::string::npos);
  EXPECT_NE(with([](GgufWriter& g) { g.kv_f32("llama.attention.layer_norm_rms_epsilon", -1e-5f); })
                .find("'llama.attention.layer_norm_rms_epsilon' is -1e-05 (allowed: a finite number > 0 and <= 1)"),
            std::string::npos);
  EXPECT_NE(with([](GgufWriter& g) { g.kv_u32("llama.feed_forward_length", 0); })
                .find("'llama.feed_forward_length' is 0"),
            std::string::npos);
}

TEST(HostileSafetensors, TensorsSharingOneByteRangeAreRefused) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << tiny_config_json().dump();
  // The first tensor (model.embed_tokens.weight) holds bytes [0, 512); "extra" claims its first 32.
  const json extra = {{"extra", {{"dtype", "F32"}, {"shape", {8}}, {"data_offsets", {0, 32}}}}};
  write_safetensors(dir.path() / "model.safetensors", tiny_tensors(), "F32", extra);
  const std::string e = error_of([&] { open_safetensors(dir.path().string()); });
  EXPECT_NE(e.find("model.safetensors': tensors '"), std::string::npos) << e;
  EXPECT_NE(e.find("'extra' and 'model.embed_tokens.weight' share bytes ["), std::string::npos) << e;
}

TEST(HostileSafetensors, ConfigNumbersOutsideWhatALlamaCanBeAreRefused) {
  json cfg = tiny_config_json();
  cfg["num_hidden_layers"] = 10'000'000;  // named 10^7 layers before anything was compared with the file
  EXPECT_NE(config_error(cfg).find("config.json': 'num_hidden_layers' is 10000000 (allowed: 1 .. 1024)"),
            std::string::npos);
  cfg = tiny_config_json();
  cfg["rms_norm_eps"] = -1e-6;
  EXPECT_NE(config_error(cfg).find("'rms_norm_eps' is -1e-06 (allowed: a finite number > 0 and <= 1)"), std::string::npos);
  cfg = tiny_config_json();
  cfg["rope_parameters"]["rope_theta"] = 0;
  EXPECT_NE(config_error(cfg).find("'rope_theta' is 0 (allowed: a finite number > 0"), std::string::npos);
  cfg = tiny_config_json();
  cfg["vocab_size"] = 0;
  EXPECT_NE(config_error(cfg).find("'vocab_size' is 0 (allowed: 1 .. 16777216)"), std::string::npos);
}

TEST(HostileGguf, MetadataArraysLongerThanAnyVocabularyAreRefused) {
  GgufWriter g = tiny_gguf();  // 2^25 + 1 u8 entries that are really there: 33 MB of file, was 268 MB of doubles
  std::string array;
  put(array, uint32_t{0});
  put(array, (uint64_t{1} << 25) + 1);
  array.append((size_t{1} << 25) + 1, '\0');
  g.kv_raw("extra.long", 9, array);
  EXPECT_NE(gguf_error(g).find("key 'extra.long': array of 33554433 elements (allowed: at most 33554432"), std::string::npos);
}
