// defines: open_safetensors — the Hugging Face folder reader (config.json + safetensors shards)
//
// Hugging Face model folders: config.json (LlamaForCausalLM) plus model.safetensors, or
// model.safetensors.index.json naming its shards. A safetensors file is an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}} and
// the raw tensor bytes; the files are mmapped and tensors converted to fp32 only when read.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "data/json_file.hpp"
#include "model/weights.hpp"
#include "weights_internal.hpp"

namespace ferret {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using detail::MappedFile;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// ---- config.json ---------------------------------------------------------------------------------

struct HfConfig {
  ModelConfig model;
  int64_t max_position_embeddings = 0;
};

bool has_value(const json& cfg, const char* key) { return cfg.contains(key) && !cfg.at(key).is_null(); }

int64_t required_int(const json& cfg, const char* key, const std::string& path) {
  if (!has_value(cfg, key) || !cfg.at(key).is_number_integer())
    fail("'" + path + "': \"" + key + "\" is missing or not an integer");
  return cfg.at(key).get<int64_t>();
}

int64_t optional_int(const json& cfg, const char* key, int64_t fallback, const std::string& path) {
  return has_value(cfg, key) ? required_int(cfg, key, path) : fallback;
}

double optional_number(const json& cfg, const char* key, double fallback, const std::string& path) {
  if (!has_value(cfg, key)) return fallback;
  if (!cfg.at(key).is_number()) fail("'" + path + "': \"" + key + "\" is not a number");
  return cfg.at(key).get<double>();
}

bool optional_bool(const json& cfg, const char* key, bool fallback, const std::string& path) {
  if (!has_value(cfg, key)) return fallback;
  if (!cfg.at(key).is_boolean()) fail("'" + path + "': \"" + key + "\" is not true/false");
  return cfg.at(key).get<bool>();
}

std::string optional_string(const json& cfg, const char* key, const std::string& path) {
  if (!has_value(cfg, key)) return "";
  if (!cfg.at(key).is_string()) fail("'" + path + "': \"" + key + "\" is not a string");
  return cfg.at(key).get<std::string>();
}

bool is_llama(const json& cfg) {
  if (has_value(cfg, "model_type") && cfg.at("model_type") == "llama") return true;
  if (has_value(cfg, "architectures") && cfg.at("architectures").is_array())
    for (const json& a : cfg.at("architectures"))
      if (a == "LlamaForCausalLM") return true;
  return false;
}

// A rope_scaling / rope_parameters object must describe plain RoPE: scaled variants (llama3, linear,
// dynamic, yarn...) change the rotary frequencies, which the model does not implement.
void require_default_rope(const json& rope, const char* key, const std::string& path) {
  if (!rope.is_object()) fail("'" + path + "': \"" + key + "\" is not an object");
  std::string type = optional_string(rope, "rope_type", path);
  if (type.empty()) type = optional_string(rope, "type", path);
  if (!type.empty() && type != "default")
    fail("'" + path + "': RoPE type '" + type + "' (\"" + key + "\") is unsupported: only the default RoPE is");
}

// transformers < 5 writes rope_theta at the top level (and rope_scaling beside it); transformers 5
// moves both into "rope_parameters": {"rope_theta": ..., "rope_type": "default"}.
double rope_theta_of(const json& cfg, const std::string& path) {
  if (has_value(cfg, "rope_scaling")) require_default_rope(cfg.at("rope_scaling"), "rope_scaling", path);
  if (has_value(cfg, "rope_parameters")) {
    const json& rope = cfg.at("rope_parameters");
    require_default_rope(rope, "rope_parameters", path);
    if (has_value(rope, "rope_theta")) return optional_number(rope, "rope_theta", 10000.0, path);
  }
  return optional_number(cfg, "rope_theta", 10000.0, path);
}

// Features of LlamaConfig that change the computation and that the model does not implement.
void reject_unsupported_llama_options(const json& cfg, int64_t head_dim, const std::string& path) {
  const std::string act = optional_string(cfg, "hidden_act", path);
  if (!act.empty() && act != "silu") fail("'" + path + "': hidden_act '" + act + "' is unsupported (only silu)");
  if (optional_bool(cfg, "attention_bias", false, path))
    fail("'" + path + "': attention_bias = true is unsupported (the model has no projection biases)");
  if (optional_bool(cfg, "mlp_bias", false, path))
    fail("'" + path + "': mlp_bias = true is unsupported (the model has no MLP biases)");
  const int64_t config_head_dim = optional_int(cfg, "head_dim", head_dim, path);
  if (config_head_dim != head_dim)
    fail("'" + path + "': head_dim " + std::to_string(config_head_dim) + " differs from hidden_size/num_heads = " +
         std::to_string(head_dim) + " (unsupported)");
}

HfConfig parse_config_json(const fs::path& file) {
  const std::string path = file.string();
  const json cfg = read_json_file(file);
  if (!cfg.is_object()) fail("'" + path + "' is not a JSON object");
  if (!is_llama(cfg))
    fail("'" + path + "': model_type '" + optional_string(cfg, "model_type", path) +
         "' is unsupported (allowed: llama / LlamaForCausalLM)");
  HfConfig out;
  ModelConfig& m = out.model;
  m.hidden_size = required_int(cfg, "hidden_size", path);
  m.intermediate_size = required_int(cfg, "intermediate_size", path);
  m.num_layers = required_int(cfg, "num_hidden_layers", path);
  m.num_heads = required_int(cfg, "num_attention_heads", path);
  m.num_kv_heads = optional_int(cfg, "num_key_value_heads", m.num_heads, path);
  m.vocab_size = required_int(cfg, "vocab_size", path);
  m.rms_norm_eps = optional_number(cfg, "rms_norm_eps", 1e-6, path);
  m.rope_theta = rope_theta_of(cfg, path);
  m.tie_embeddings = optional_bool(cfg, "tie_word_embeddings", false, path);
  out.max_position_embeddings = optional_int(cfg, "max_position_embeddings", 2048, path);
  detail::check_model_values(m, {"'" + path + "':", "hidden_size", "intermediate_size", "num_hidden_layers",
                                 "num_attention_heads", "num_key_value_heads", "vocab_size", "rms_norm_eps",
                                 "rope_theta"});
  if (m.num_heads <= 0 || m.hidden_size % m.num_heads != 0)
    fail("'" + path + "': hidden_size " + std::to_string(m.hidden_size) + " is not a multiple of num_attention_heads " +
         std::to_string(m.num_heads));
  if (m.num_kv_heads <= 0 || m.num_heads % m.num_kv_heads != 0)
    fail("'" + path + "': num_attention_heads " + std::to_string(m.num_heads) +
         " is not a multiple of num_key_value_heads " + std::to_string(m.num_kv_heads));
  reject_unsupported_llama_options(cfg, m.hidden_size / m.num_heads, path);
  return out;
}

// ---- safetensors files ---------------------------------------------------------------------------

struct StoredTensor {
  TensorInfo info;
  size_t shard = 0;      // index into the mapped files
  uint64_t offset = 0;   // absolute byte offset of the data in that file
  uint64_t bytes = 0;
};

// Bytes per element of every safetensors dtype (so sizes of tensors we cannot convert are checked too).
std::optional<uint64_t> dtype_size(const std::string& dtype) {
  static const std::map<std::string, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"I64", 8},     {"U64", 8}, {"F64", 8}};
  const auto it = sizes.find(dtype);
  if (it == sizes.end()) return std::nullopt;
  return it->second;
}

std::vector<int64_t> parse_shape(const json& entry, const std::string& where) {
  if (!entry.contains("shape") || !entry.at("shape").is_array()) fail(where + ": \"shape\" is missing");
  std::vector<int64_t> shape;
  for (const json& d : entry.at("shape")) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) fail(where + ": \"shape\" holds a non-integer or negative dim");
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

StoredTensor parse_tensor_entry(const std::string& name, const json& entry, const MappedFile& file, size_t shard,
                                uint64_t data_start) {
  const std::string where = "tensor '" + name + "' in '" + file.path() + "'";
  if (!entry.is_object() || !entry.contains("dtype") || !entry.at("dtype").is_string())
    fail(where + ": \"dtype\" is missing");
  StoredTensor t;
  t.info.name = name;
  t.info.dtype = entry.at("dtype").get<std::string>();
  t.info.shape = parse_shape(entry, where);
  t.shard = shard;
  const auto elem = dtype_size(t.info.dtype);
  if (!elem) fail(where + ": unknown dtype '" + t.info.dtype + "'");
  const json& offsets = entry.value("data_offsets", json());
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
    fail(where + ": \"data_offsets\" is not [begin, end]");
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  const uint64_t data_bytes = file.size() - data_start;
  if (begin > end || end > data_bytes)
    fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
         "] exceed the data section of " + std::to_string(data_bytes) + " bytes (truncated file?)");
  const uint64_t expected = static_cast<uint64_t>(detail::element_count(t.info.shape, where)) * *elem;
  if (end - begin != expected)
    fail(where + ": holds " + std::to_string(end - begin) + " bytes, expected " + std::to_string(expected) +
         " for " + t.info.dtype + " " + detail::shape_string(t.info.shape));
  t.offset = data_start + begin;
  t.bytes = expected;
  return t;
}

// The header of one mapped safetensors file: its tensors, in the header's (sorted) order.
std::vector<StoredTensor> parse_safetensors_header(const MappedFile& file, size_t shard) {
  const std::string& path = file.path();
  if (file.size() < 8) fail("'" + path + "' is truncated: " + std::to_string(file.size()) + " bytes, no header");
  uint64_t header_len;
  std::memcpy(&header_len, file.data(), 8);
  if (header_len > file.size() - 8)
    fail("'" + path + "' is truncated: header of " + std::to_string(header_len) + " bytes, file of " +
         std::to_string(file.size()));
  const char* begin = reinterpret_cast<const char*>(file.data()) + 8;
  json header;
  try {
    header = json::parse(begin, begin + header_len, json_depth_bound(path));
  } catch (const json::exception& e) {
    fail("'" + path + "': safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) fail("'" + path + "': safetensors header is not a JSON object");
  std::vector<StoredTensor> out;
  for (const auto& [name, entry] : header.items())
    if (name != "__metadata__") out.push_back(parse_tensor_entry(name, entry, file, shard, 8 + header_len));
  std::vector<detail::ByteRange> ranges;
  for (const StoredTensor& t : out) ranges.push_back({&t.info.name, t.offset, t.bytes});
  detail::check_disjoint_ranges(std::move(ranges), "'" + path + "'");
  return out;
}

// Converts `n` stored elements at `src` of `dtype` into fp32.
void convert_to_fp32(const uint8_t* src, const std::string& dtype, std::span<float> out, const std::string& where) {
  const auto n = static_cast<int64_t>(out.size());
  float* dst = out.data();
  if (dtype == "F32") {
    if (n > 0) std::memcpy(dst, src, out.size() * sizeof(float));  // an empty span's data() may be null
  } else if (dtype == "F16") {
#pragma omp parallel for schedule(static) if (n > (1 << 18))
    for (int64_t i = 0; i < n; ++i) dst[i] = detail::fp16_to_fp32(detail::load_u16(src + 2 * i));
  } else if (dtype == "BF16") {
#pragma omp parallel for schedule(static) if (n > (1 << 18))
    for (int64_t i = 0; i < n; ++i) dst[i] = detail::bf16_to_fp32(detail::load_u16(src + 2 * i));
  } else if (dtype == "F64") {
    for (int64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      dst[i] = static_cast<float>(v);
    }
  } else {
    fail(where + ": dtype " + dtype + " cannot be converted to fp32 (allowed: F32, F16, BF16, F64)");
  }
}

class SafetensorsFile final : public WeightFile {
 public:
  SafetensorsFile(std::string dir, HfConfig config) : dir_(std::move(dir)), config_(std::move(config)) {}

  // Maps `file` and registers its tensors; a tensor name already seen in another shard is an error.
  void add_shard(const fs::path& file) {
    shards_.push_back(std::make_unique<MappedFile>(file.string()));
    for (StoredTensor& t : parse_safetensors_header(*shards_.back(), shards_.size() - 1)) {
      if (by_name_.count(t.info.name))
        fail("tensor '" + t.info.name + "' appears in both '" + shards_[by_name_.at(t.info.name).shard]->path() +
             "' and '" + file.string() + "'");
      infos_.push_back(t.info);
      by_name_.emplace(t.info.name, std::move(t));
    }
  }

  // The index's weight_map must agree with what the shards hold.
  void check_weight_map(const std::map<std::string, std::string>& weight_map, const std::string& index_path) const {
    for (const auto& [name, shard_file] : weight_map) {
      const auto it = by_name_.find(name);
      if (it == by_name_.end() || fs::path(shards_[it->second.shard]->path()).filename() != shard_file)
        fail("'" + index_path + "' places tensor '" + name + "' in '" + shard_file + "', which does not hold it");
    }
  }

  const std::vector<TensorInfo>& tensors() const override { return infos_; }

  void read_fp32(const std::string& name, std::span<float> out) const override {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) fail("tensor '" + name + "' is not in '" + dir_ + "'");
    const StoredTensor& t = it->second;
    const MappedFile& file = *shards_[t.shard];
    const std::string where = "tensor '" + name + "' in '" + file.path() + "'";
    const auto count = static_cast<size_t>(detail::element_count(t.info.shape, where));
    if (out.size() != count)
      fail(where + ": destination holds " + std::to_string(out.size()) + " floats, expected " + std::to_string(count) +
           " for shape " + detail::shape_string(t.info.shape));
    convert_to_fp32(file.data() + t.offset, t.info.dtype, out, where);
  }

  ModelConfig model_config() const override { return config_.model; }
  int64_t max_position_embeddings() const override { return config_.max_position_embeddings; }

 private:
  std::string dir_;
  HfConfig config_;
  std::vector<std::unique_ptr<MappedFile>> shards_;
  std::vector<TensorInfo> infos_;
  std::unordered_map<std::string, StoredTensor> by_name_;
};

// model.safetensors.index.json → {tensor name: shard file name}.
std::map<std::string, std::string> read_weight_map(const fs::path& index) {
  const json j = read_json_file(index);
  const std::string path = index.string();  // a named string: "'" + temporary trips GCC 12's -Wrestrict
  if (!j.is_object() || !j.contains("weight_map") || !j.at("weight_map").is_object())
    fail("'" + path + "' has no \"weight_map\" object");
  std::map<std::string, std::string> out;
  for (const auto& [name, file] : j.at("weight_map").items()) {
    if (!file.is_string()) fail("'" + path + "': weight_map entry '" + name + "' is not a file name");
    out.emplace(name, file.get<std::string>());
  }
  return out;
}

}  // namespace

std::unique_ptr<WeightFile> open_safetensors(const std::string& dir) {
  const fs::path root(dir);
  const fs::path config = root / "config.json";
  if (!fs::is_regular_file(config)) fail("'" + dir + "' has no config.json");
  auto weights = std::make_unique<SafetensorsFile>(dir, parse_config_json(config));
  const fs::path single = root / "model.safetensors", index = root / "model.safetensors.index.json";
  if (fs::is_regular_file(single)) {  // the same preference as transformers' from_pretrained
    weights->add_shard(single);
  } else if (fs::is_regular_file(index)) {
    const auto weight_map = read_weight_map(index);
    std::vector<std::string> shard_files;
    for (const auto& [name, file] : weight_map)
      if (std::find(shard_files.begin(), shard_files.end(), file) == shard_files.end()) shard_files.push_back(file);
    std::sort(shard_files.begin(), shard_files.end());
    for (const std::string& file : shard_files) {
      if (!fs::is_regular_file(root / file))
        fail("'" + index.string() + "' names shard '" + file + "', which is missing");
      weights->add_shard(root / file);
    }
    weights->check_weight_map(weight_map, index.string());
  } else {
    fail("'" + dir + "' has neither model.safetensors nor model.safetensors.index.json");
  }
  return weights;
}

}  // namespace ferret
