// defines: open_gguf, GgufMetadata — the GGUF reader (weights, architecture, tokenizer tables)
//
// GGUF (llama.cpp's format, v2/v3): "GGUF", version, tensor and metadata counts, the metadata key/value
// pairs, the tensor infos (name, dims with the fastest-varying first, ggml type, offset), then the
// tensor data, aligned to general.alignment (default 32). The file is mmapped; tensors are dequantised
// to fp32 only when read.
//
// Names and layouts are translated to Hugging Face LlamaForCausalLM ones, so the model has one loading
// path. llama.cpp's converter permutes the rows of q_proj/k_proj (per head: HF's rotate-half order
// [x0..x(hd/2-1), y0..] becomes interleaved pairs [x0 y0 x1 y1 ...]); read_fp32 undoes it.

#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <variant>

#include "model/weights.hpp"
#include "weights_internal.hpp"

namespace ferret {
namespace {

using detail::MappedFile;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// ---- metadata ------------------------------------------------------------------------------------

enum GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// A metadata value: scalars as int64/double/bool/string, arrays of strings or of numbers.
using Scalar = std::variant<int64_t, double, bool, std::string>;
struct Value {
  Scalar scalar;
  std::vector<std::string> strings;  // array of strings
  std::vector<double> numbers;       // array of numbers (ints are exact below 2^53)
  bool is_array = false;
  uint32_t element_type = 0;         // of an array
};

// Bounds-checked little-endian reader over the mapped file.
class Reader {
 public:
  Reader(const MappedFile& f) : f_(f) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return f_.size() - pos_; }

  template <typename T>
  T read() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, f_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string() {
    const uint64_t n = read<uint64_t>();
    need(n);
    std::string s(reinterpret_cast<const char*>(f_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  void need(uint64_t n) const {
    if (n > f_.size() - pos_)
      fail("GGUF '" + f_.path() + "' is truncated (needs " + std::to_string(n) + " bytes at offset " +
           std::to_string(pos_) + " of " + std::to_string(f_.size()) + ")");
  }
  const MappedFile& f_;
  size_t pos_ = 0;
};

double read_number(Reader& r, uint32_t type, const std::string& where) {
  switch (type) {
    case kU8: return r.read<uint8_t>();
    case kI8: return r.read<int8_t>();
    case kU16: return r.read<uint16_t>();
    case kI16: return r.read<int16_t>();
    case kU32: return r.read<uint32_t>();
    case kI32: return r.read<int32_t>();
    case kF32: return r.read<float>();
    case kBool: return r.read<uint8_t>() != 0;
    case kU64: return static_cast<double>(r.read<uint64_t>());
    case kI64: return static_cast<double>(r.read<int64_t>());
    case kF64: return r.read<double>();
    default: fail(where + ": unknown metadata type " + std::to_string(type));
  }
}

// The fewest bytes one array element of `type` takes (a string: its 8-byte length).
uint64_t min_element_bytes(uint32_t type) {
  switch (type) {
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kString: case kU64: case kI64: case kF64: return 8;
    default: return 1;
  }
}

// A count is refused before anything is allocated when the rest of the file cannot hold that many
// items of `min_bytes` each, so a few bytes of header cannot make the reader reserve gigabytes.
void check_count(const Reader& r, uint64_t n, uint64_t min_bytes, const std::string& what) {
  if (n > r.remaining() / min_bytes)
    fail(what + " of " + std::to_string(n) + " elements does not fit in the " + std::to_string(r.remaining()) +
         " bytes left in the file");
}

constexpr uint64_t kMaxArrayElements = uint64_t{1} << 25;

Value read_value(Reader& r, uint32_t type, const std::string& where) {
  Value v;
  if (type == kString) {
    v.scalar = r.read_string();
  } else if (type == kArray) {
    v.is_array = true;
    const uint32_t elem = r.read<uint32_t>();
    const uint64_t n = r.read<uint64_t>();
    v.element_type = elem;
    check_count(r, n, min_element_bytes(elem), where + ": array");
    // The longest array a LLaMA GGUF holds is its vocabulary (tokens, merges, scores, types): a
    // count beyond that bound is refused before 8 bytes a number are reserved for a file's bytes.
    if (n > kMaxArrayElements)
      fail(where + ": array of " + std::to_string(n) + " elements (allowed: at most " +
           std::to_string(kMaxArrayElements) + ", the longest vocabulary table)");
    if (elem == kString) {
      v.strings.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.strings.push_back(r.read_string());
    } else if (elem == kArray) {
      fail(where + ": nested arrays are unsupported");
    } else {
      v.numbers.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.numbers.push_back(read_number(r, elem, where));
    }
  } else if (type == kBool) {
    v.scalar = r.read<uint8_t>() != 0;
  } else if (type == kF32 || type == kF64) {
    v.scalar = read_number(r, type, where);
  } else if (type == kU64) {
    v.scalar = static_cast<int64_t>(r.read<uint64_t>());  // exact (a double would round above 2^53)
  } else if (type == kI64) {
    v.scalar = r.read<int64_t>();
  } else {
    v.scalar = static_cast<int64_t>(read_number(r, type, where));
  }
  return v;
}

// ---- ggml tensor types ---------------------------------------------------------------------------

struct GgmlType {
  const char* name;
  int64_t block;       // elements per block
  int64_t block_bytes; // bytes per block
};

// ggml's type ids (ggml.h) for the types we can dequantise.
const std::map<uint32_t, GgmlType>& ggml_types() {
  static const std::map<uint32_t, GgmlType> types = {
      {0, {"F32", 1, 4}},     {1, {"F16", 1, 2}},     {2, {"Q4_0", 32, 18}}, {3, {"Q4_1", 32, 20}},
      {6, {"Q5_0", 32, 22}},  {7, {"Q5_1", 32, 24}},  {8, {"Q8_0", 32, 34}}, {30, {"BF16", 1, 2}},
  };
  return types;
}

// Dequantises `n_blocks` blocks of type `t` from `src` into `dst` (ggml-quants.c's reference formulas).
void dequantise(const GgmlType& t, const uint8_t* src, float* dst, int64_t n) {
  const std::string name = t.name;
  if (name == "F32") {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  if (name == "F16" || name == "BF16") {
    const bool half = name == "F16";
#pragma omp parallel for schedule(static) if (n > (1 << 18))
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t v = detail::load_u16(src + 2 * i);
      dst[i] = half ? detail::fp16_to_fp32(v) : detail::bf16_to_fp32(v);
    }
    return;
  }
  const int64_t blocks = n / 32;
#pragma omp parallel for schedule(static) if (blocks > (1 << 13))
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* p = src + b * t.block_bytes;
    float* y = dst + b * 32;
    const float d = detail::fp16_to_fp32(detail::load_u16(p));
    if (name == "Q8_0") {  // d, 32 × int8: x = d·q
      for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(static_cast<int8_t>(p[2 + j]));
    } else if (name == "Q4_0") {  // d, 16 bytes of nibbles (low nibbles = first half): x = d·(q − 8)
      for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>((p[2 + j] & 0x0F) - 8);
        y[j + 16] = d * static_cast<float>((p[2 + j] >> 4) - 8);
      }
    } else if (name == "Q4_1") {  // d, m, nibbles: x = d·q + m
      const float m = detail::fp16_to_fp32(detail::load_u16(p + 2));
      for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>(p[4 + j] & 0x0F) + m;
        y[j + 16] = d * static_cast<float>(p[4 + j] >> 4) + m;
      }
    } else {  // Q5_0 (d, qh, nibbles: x = d·(q − 16)) and Q5_1 (d, m, qh, nibbles: x = d·q + m)
      const bool q51 = name == "Q5_1";
      const float m = q51 ? detail::fp16_to_fp32(detail::load_u16(p + 2)) : 0.0f;
      const uint8_t* qhp = p + (q51 ? 4 : 2);
      uint32_t qh;
      std::memcpy(&qh, qhp, 4);
      const uint8_t* qs = qhp + 4;
      const int offset = q51 ? 0 : 16;
      for (int j = 0; j < 16; ++j) {
        const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) << 4) & 0x10);
        const int hi = (qs[j] >> 4) | static_cast<int>((qh >> (j + 12)) & 0x10);
        y[j] = d * static_cast<float>(lo - offset) + m;
        y[j + 16] = d * static_cast<float>(hi - offset) + m;
      }
    }
  }
}

// ---- llama.cpp names → Hugging Face names ----------------------------------------------------------

std::string hf_name(const std::string& gguf) {
  static const std::map<std::string, std::string> top = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  static const std::map<std::string, std::string> block = {
      {"attn_q.weight", "self_attn.q_proj.weight"},     {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},     {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
  };
  if (const auto it = top.find(gguf); it != top.end()) return it->second;
  if (gguf.rfind("blk.", 0) == 0) {
    const size_t dot = gguf.find('.', 4);
    if (dot != std::string::npos)
      if (const auto it = block.find(gguf.substr(dot + 1)); it != block.end())
        return "model.layers." + gguf.substr(4, dot - 4) + "." + it->second;
  }
  return gguf;  // not part of a LlamaForCausalLM (e.g. rope_freqs): listed under its own name
}

struct StoredTensor {
  TensorInfo info;
  GgmlType type;
  uint64_t offset = 0;  // absolute, in the file
  int64_t unpermute_heads = 0;  // > 0: q/k rows to un-permute with this many heads (the file's count: any int64)
};

class GgufFile final : public WeightFile {
 public:
  explicit GgufFile(const std::string& path) : file_(path) { parse(); }

  const std::vector<TensorInfo>& tensors() const override { return infos_; }
  ModelConfig model_config() const override { return model_; }
  int64_t max_position_embeddings() const override { return context_length_; }

  void read_fp32(const std::string& name, std::span<float> out) const override {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) fail("tensor '" + name + "' is not in '" + file_.path() + "'");
    const StoredTensor& t = it->second;
    const std::string where = "tensor '" + name + "' in '" + file_.path() + "'";
    const int64_t n = detail::element_count(t.info.shape, where);
    if (static_cast<int64_t>(out.size()) != n)
      fail(where + ": destination holds " + std::to_string(out.size()) + " floats, expected " + std::to_string(n));
    if (n == 0) return;  // an empty tensor: its span's data() may be null, which memcpy must not get
    if (t.unpermute_heads == 0) {
      dequantise(t.type, file_.data() + t.offset, out.data(), n);
      return;
    }
    std::vector<float> permuted(static_cast<size_t>(n));
    dequantise(t.type, file_.data() + t.offset, permuted.data(), n);
    // Stored row h·hd + 2i + j (interleaved pairs) is Hugging Face row h·hd + j·hd/2 + i.
    const int64_t rows = t.info.shape[0], cols = t.info.shape[1], hd = rows / t.unpermute_heads;
    for (int64_t h = 0; h < t.unpermute_heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          std::memcpy(out.data() + (h * hd + j * (hd / 2) + i) * cols, permuted.data() + (h * hd + 2 * i + j) * cols,
                      static_cast<size_t>(cols) * sizeof(float));
  }

  const std::unordered_map<std::string, Value>& metadata() const { return meta_; }
  const std::string& path() const { return file_.path(); }

 private:
  void parse() {
    const std::string& path = file_.path();
    Reader r(file_);
    if (file_.size() < 4 || std::memcmp(file_.data(), "GGUF", 4) != 0) fail("'" + path + "' is not a GGUF file (no GGUF magic)");
    r.read<uint32_t>();
    const uint32_t version = r.read<uint32_t>();
    if (version != 2 && version != 3)
      fail("GGUF '" + path + "': version " + std::to_string(version) + " is unsupported (allowed: 2, 3)");
    const uint64_t n_tensors = r.read<uint64_t>(), n_kv = r.read<uint64_t>();
    check_count(r, n_kv, 8 + 4 + 1, "GGUF '" + path + "': metadata");  // key length, type, value
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string key = r.read_string();
      const uint32_t type = r.read<uint32_t>();
      meta_[key] = read_value(r, type, "GGUF '" + path + "' key '" + key + "'");
    }
    if (str("general.architecture") != "llama")
      fail("GGUF '" + path + "': architecture '" + str("general.architecture") + "' is unsupported (allowed: llama)");
    read_model_config();

    check_count(r, n_tensors, 8 + 4 + 8 + 4 + 8, "GGUF '" + path + "': tensor list");  // name, n_dims, a dim, type, offset
    std::vector<StoredTensor> stored;
    stored.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
      StoredTensor t;
      const std::string gguf_name = r.read_string();
      const uint32_t n_dims = r.read<uint32_t>();
      if (n_dims == 0 || n_dims > 4) fail("GGUF '" + path + "': tensor '" + gguf_name + "' has " + std::to_string(n_dims) + " dims");
      std::vector<int64_t> dims(n_dims);
      for (auto& d : dims) d = static_cast<int64_t>(r.read<uint64_t>());
      const uint32_t type = r.read<uint32_t>();
      t.offset = r.read<uint64_t>();
      const auto ty = ggml_types().find(type);
      if (ty == ggml_types().end())
        fail("GGUF '" + path + "': tensor '" + gguf_name + "' has ggml type " + std::to_string(type) +
             ", which is unsupported (allowed: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)");
      t.type = ty->second;
      t.info.name = hf_name(gguf_name);
      t.info.dtype = t.type.name;
      t.info.shape.assign(dims.rbegin(), dims.rend());  // ggml lists the fastest dim first; torch last
      if (dims[0] % t.type.block != 0)
        fail("GGUF '" + path + "': tensor '" + gguf_name + "' rows of " + std::to_string(dims[0]) +
             " are not a multiple of the " + t.type.name + " block of " + std::to_string(t.type.block));
      if (gguf_name.size() > 4 && gguf_name.rfind("blk.", 0) == 0) {
        if (gguf_name.find(".attn_q.weight") != std::string::npos) t.unpermute_heads = model_.num_heads;
        if (gguf_name.find(".attn_k.weight") != std::string::npos) t.unpermute_heads = model_.num_kv_heads;
      }
      stored.push_back(std::move(t));
    }
    // The spec stores the alignment as a uint32; bounding it keeps the rounding below from wrapping.
    const int64_t alignment = has("general.alignment") ? integer("general.alignment") : 32;
    if (alignment <= 0 || alignment > (int64_t{1} << 31) || (alignment & (alignment - 1)) != 0)
      fail("GGUF '" + path + "': general.alignment " + std::to_string(alignment) +
           " is not a power of two (allowed: 1 .. 2^31)");
    const auto align = static_cast<uint64_t>(alignment);
    const uint64_t data_start = (r.pos() + align - 1) / align * align;
    // Offsets are compared with the bytes after data_start before they are added to it: a sum
    // that wrapped around 2^64 would otherwise point a tensor at the header.
    const uint64_t data_bytes = data_start <= file_.size() ? file_.size() - data_start : 0;
    std::vector<detail::ByteRange> ranges;
    for (StoredTensor& t : stored) {
      const std::string where = "GGUF '" + path + "': tensor '" + t.info.name + "'";
      const int64_t n = detail::element_count(t.info.shape, where);
      const uint64_t bytes = static_cast<uint64_t>(n / t.type.block * t.type.block_bytes);
      if (t.offset > data_bytes || bytes > data_bytes - t.offset)
        fail(where + " extends past the end of the file (truncated?)");
      t.offset += data_start;
      const int64_t heads = t.unpermute_heads;  // rows must split into `heads` blocks of an even size
      if (heads > 0 && (t.info.shape.size() != 2 || t.info.shape[0] % heads != 0 || (t.info.shape[0] / heads) % 2 != 0))
        fail(where + ": shape " + detail::shape_string(t.info.shape) + " does not split into " +
             std::to_string(t.unpermute_heads) + " rotary heads");
      if (by_name_.count(t.info.name)) fail(where + " appears twice");
      infos_.push_back(t.info);
      const auto& [entry, added] = by_name_.emplace(t.info.name, t);
      ranges.push_back({&entry->first, entry->second.offset, bytes});
    }
    detail::check_disjoint_ranges(std::move(ranges), "GGUF '" + path + "'");
    model_.tie_embeddings = !by_name_.count("lm_head.weight");
    if (!has("llama.vocab_size")) {
      const auto it = by_name_.find("model.embed_tokens.weight");
      if (it == by_name_.end()) fail("GGUF '" + path + "': tensor 'token_embd.weight' is missing");
      model_.vocab_size = it->second.info.shape[0];
    }
  }

  void read_model_config() {
    model_.hidden_size = integer("llama.embedding_length");
    model_.num_layers = integer("llama.block_count");
    model_.intermediate_size = integer("llama.feed_forward_length");
    model_.num_heads = integer("llama.attention.head_count");
    model_.num_kv_heads = has("llama.attention.head_count_kv") ? integer("llama.attention.head_count_kv") : model_.num_heads;
    model_.rms_norm_eps = number("llama.attention.layer_norm_rms_epsilon");
    model_.rope_theta = has("llama.rope.freq_base") ? number("llama.rope.freq_base") : 10000.0;
    if (has("llama.vocab_size")) model_.vocab_size = integer("llama.vocab_size");
    context_length_ = has("llama.context_length") ? integer("llama.context_length") : 0;
    const std::string& path = file_.path();
    detail::check_model_values(model_,
                               {"GGUF '" + path + "': metadata key", "llama.embedding_length", "llama.feed_forward_length",
                                "llama.block_count", "llama.attention.head_count", "llama.attention.head_count_kv",
                                "llama.vocab_size", "llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"},
                               has("llama.vocab_size"));
    if (model_.num_heads <= 0 || model_.hidden_size % model_.num_heads != 0 || model_.num_kv_heads <= 0 ||
        model_.num_heads % model_.num_kv_heads != 0)
      fail("GGUF '" + path + "': head counts " + std::to_string(model_.num_heads) + "/" +
           std::to_string(model_.num_kv_heads) + " do not fit embedding_length " + std::to_string(model_.hidden_size));
    if (has("llama.rope.dimension_count") && integer("llama.rope.dimension_count") != model_.hidden_size / model_.num_heads)
      fail("GGUF '" + path + "': partial rotary embeddings (rope.dimension_count) are unsupported");
    if (has("llama.rope.scaling.type") && str("llama.rope.scaling.type") != "none")
      fail("GGUF '" + path + "': RoPE scaling '" + str("llama.rope.scaling.type") + "' is unsupported");
  }

  bool has(const std::string& key) const { return meta_.count(key) > 0; }
  const Value& get(const std::string& key) const {
    const auto it = meta_.find(key);
    if (it == meta_.end()) fail("GGUF '" + file_.path() + "': metadata key '" + key + "' is missing");
    return it->second;
  }
  int64_t integer(const std::string& key) const {
    const Value& v = get(key);
    if (const auto* i = std::get_if<int64_t>(&v.scalar); i && !v.is_array) return *i;
    fail("GGUF '" + file_.path() + "': metadata key '" + key + "' is not an integer");
  }
  double number(const std::string& key) const {
    const Value& v = get(key);
    if (const auto* d = std::get_if<double>(&v.scalar); d && !v.is_array) return *d;
    return static_cast<double>(integer(key));
  }
  std::string str(const std::string& key) const {
    if (!has(key)) return "";
    const auto* s = std::get_if<std::string>(&get(key).scalar);
    return s ? *s : "";
  }
  bool boolean(const std::string& key) const {
    const Value& v = get(key);
    if (const auto* b = std::get_if<bool>(&v.scalar); b && !v.is_array) return *b;
    fail("GGUF '" + file_.path() + "': metadata key '" + key + "' is not a bool");
  }
  const std::vector<std::string>& strings(const std::string& key) const {
    const Value& v = get(key);
    if (!v.is_array || v.element_type != kString)
      fail("GGUF '" + file_.path() + "': metadata key '" + key + "' is not an array of strings");
    return v.strings;
  }
  // A token id: an integer naming one of the `n_tokens` tokens (a wider value must not be truncated).
  int32_t token_id(const std::string& key, size_t n_tokens) const {
    const int64_t id = integer(key);
    if (id < 0 || static_cast<uint64_t>(id) >= n_tokens)
      fail("GGUF '" + file_.path() + "': metadata key '" + key + "' is " + std::to_string(id) +
           ", outside the vocabulary of " + std::to_string(n_tokens) + " tokens");
    return static_cast<int32_t>(id);
  }

  MappedFile file_;
  std::unordered_map<std::string, Value> meta_;
  ModelConfig model_;
  int64_t context_length_ = 0;
  std::vector<TensorInfo> infos_;
  std::unordered_map<std::string, StoredTensor> by_name_;

  friend BpeVocab ferret::bpe_vocab_from_gguf(const std::string&);
};

}  // namespace

std::unique_ptr<WeightFile> open_gguf(const std::string& path) { return std::make_unique<GgufFile>(path); }

BpeVocab bpe_vocab_from_gguf(const std::string& path) {
  const GgufFile f(path);
  const std::string where = "GGUF '" + path + "': ";
  if (f.str("tokenizer.ggml.model") != "gpt2")
    fail(where + "tokenizer model '" + f.str("tokenizer.ggml.model") + "' is unsupported (allowed: gpt2 byte-level BPE)");
  BpeVocab v;
  const std::string pre = f.str("tokenizer.ggml.pre");
  if (pre == "smollm") v.pre_tokenizer = "smollm";
  else if (pre == "llama-bpe" || pre == "llama3") v.pre_tokenizer = "llama3";
  else if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2") v.pre_tokenizer = "gpt2";
  else fail(where + "pre-tokenizer '" + pre + "' is unsupported (allowed: smollm, llama-bpe, gpt-2/default)");
  v.tokens = f.strings("tokenizer.ggml.tokens");
  if (f.has("tokenizer.ggml.merges")) v.merges = f.strings("tokenizer.ggml.merges");
  if (f.has("tokenizer.ggml.token_type")) {
    const auto& types = f.get("tokenizer.ggml.token_type").numbers;
    for (size_t id = 0; id < types.size(); ++id)
      if (types[id] == 3 || types[id] == 4) v.special_ids.push_back(static_cast<int32_t>(id));  // control, user-defined
  }
  const bool add_bos = f.has("tokenizer.ggml.add_bos_token") ? f.boolean("tokenizer.ggml.add_bos_token") : false;
  if (add_bos && f.has("tokenizer.ggml.bos_token_id")) v.bos_id = f.token_id("tokenizer.ggml.bos_token_id", v.tokens.size());
  if (f.has("tokenizer.ggml.eos_token_id")) v.eos_id = f.token_id("tokenizer.ggml.eos_token_id", v.tokens.size());
  v.chat_template = f.str("tokenizer.chat_template");
  return v;
}

}  // namespace ferret
