// defines: the seed inputs and mutations declared in fuzz_inputs.hpp (used by fuzz_readers.cpp)

#include "fuzz_inputs.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>

namespace ferret::fuzz {
namespace {

using json = nlohmann::json;

// ---- inputs with their integer fields ------------------------------------------------------------

// Little-endian bytes plus the offsets of the length/count/offset/type fields written into them.
struct Writer {
  std::string out;
  std::vector<Field> fields;
  template <typename T>
  void num(T v, bool field = true) {
    if (field) fields.push_back({out.size(), static_cast<int>(sizeof(T))});
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    num<uint64_t>(s.size());
    out += s;
  }
  void append(const Writer& w) {
    for (Field f : w.fields) fields.push_back({f.offset + out.size(), f.width});
    out += w.out;
  }
};

// ---- the tiny model every seed describes -------------------------------------------------------

constexpr int64_t kHidden = 8, kFfn = 32, kVocab = 261;
enum Ggml : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8 };

struct TinyTensor {
  const char* hf;
  const char* gguf;
  std::vector<int64_t> shape;  // torch order
  Ggml ggml;
  const char* st_dtype;
};

const std::vector<TinyTensor>& tiny_model() {
  static const std::vector<TinyTensor> t = {
      {"model.embed_tokens.weight", "token_embd.weight", {kVocab, kHidden}, kF16, "F16"},
      {"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight", {8, 8}, kF32, "F32"},
      {"model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight", {4, 8}, kF32, "BF16"},
      {"model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight", {4, 8}, kF32, "F32"},
      {"model.layers.0.self_attn.o_proj.weight", "blk.0.attn_output.weight", {8, 8}, kF16, "F16"},
      {"model.layers.0.mlp.gate_proj.weight", "blk.0.ffn_gate.weight", {kFfn, 8}, kF32, "BF16"},
      {"model.layers.0.mlp.up_proj.weight", "blk.0.ffn_up.weight", {kFfn, 8}, kF16, "F32"},
      {"model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight", {8, kFfn}, kQ8_0, "F32"},
      {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight", {8}, kF32, "F32"},
      {"model.layers.0.post_attention_layernorm.weight", "blk.0.ffn_norm.weight", {8}, kF32, "F32"},
      {"model.norm.weight", "output_norm.weight", {8}, kF32, "F32"},
  };
  return t;
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Element i of tensor t: k/8 with |k| <= 8, exact in F16, BF16 and Q8_0 with scale 1/8.
int quant(size_t t, int64_t i) { return static_cast<int>((i * 7 + static_cast<int64_t>(t)) % 17) - 8; }

uint16_t f16_of_eighths(int k) {  // binary16 of k/8 for |k| <= 8
  if (k == 0) return 0;
  const uint16_t sign = k < 0 ? 0x8000 : 0;
  float f = static_cast<float>(std::abs(k)) / 8.0f;
  int e = 0;
  for (; f >= 2.0f; ++e) f /= 2;
  for (; f < 1.0f; --e) f *= 2;
  return static_cast<uint16_t>(sign | ((e + 15) << 10) | static_cast<uint16_t>(std::lround((f - 1.0f) * 1024)));
}

uint16_t bf16_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}

// The stored bytes of tensor t: F32/F16/BF16 element by element, Q8_0 as blocks {d = 1/8, 32 × int8}.
std::string tensor_bytes(size_t t, const std::string& type) {
  Writer w;
  const int64_t n = elements(tiny_model()[t].shape);
  for (int64_t i = 0; i < n; ++i) {
    const int k = quant(t, i);
    if (type == "Q8_0" && i % 32 == 0) w.num<uint16_t>(f16_of_eighths(1), false);
    if (type == "Q8_0") w.num<int8_t>(static_cast<int8_t>(k), false);
    else if (type == "F32") w.num<float>(static_cast<float>(k) / 8.0f, false);
    else if (type == "F16") w.num<uint16_t>(f16_of_eighths(k), false);
    else w.num<uint16_t>(bf16_of(static_cast<float>(k) / 8.0f), false);
  }
  return w.out;
}

// The vocabulary: 256 byte-level tokens, three merges, two specials (ids 259, 260).
std::string byte_char(int b) {
  const auto printable = [](int x) { return (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF); };
  int cp = b;
  if (!printable(b)) {
    cp = 256;
    for (int x = 0; x < b; ++x) cp += printable(x) ? 0 : 1;
  }
  std::string s;
  if (cp < 0x80) return s + static_cast<char>(cp);
  s += static_cast<char>(0xC0 | (cp >> 6));
  return s + static_cast<char>(0x80 | (cp & 0x3F));
}

std::vector<std::string> vocab_tokens() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) t.push_back(byte_char(b));
  for (const char* x : {"\xC4\xA0t", "he", "\xC4\xA0the", "<|im_start|>", "<|im_end|>"}) t.push_back(x);  // Ġt, he, Ġthe
  return t;
}
const std::vector<std::string> kMerges = {"\xC4\xA0 t", "h e", "\xC4\xA0t he"};

// ---- seeds -----------------------------------------------------------------------------------------

Writer gguf_metadata(uint64_t& n_kv) {
  Writer m;
  auto key = [&](const char* k, uint32_t type) { m.str(k), m.num<uint32_t>(type), ++n_kv; };
  auto u32 = [&](const char* k, uint32_t v) { key(k, 4), m.num<uint32_t>(v); };
  key("general.architecture", 8), m.str("llama");
  u32("general.alignment", 32);
  key("llama.context_length", 10), m.num<uint64_t>(64);
  u32("llama.embedding_length", kHidden), u32("llama.block_count", 1), u32("llama.feed_forward_length", kFfn);
  u32("llama.attention.head_count", 2), u32("llama.attention.head_count_kv", 1), u32("llama.rope.dimension_count", 4);
  key("llama.attention.layer_norm_rms_epsilon", 6), m.num<float>(1e-5f, false);
  key("llama.rope.freq_base", 6), m.num<float>(1e4f, false);
  key("tokenizer.ggml.model", 8), m.str("gpt2");
  key("tokenizer.ggml.pre", 8), m.str("smollm");
  const std::vector<std::string> tokens = vocab_tokens();
  key("tokenizer.ggml.tokens", 9), m.num<uint32_t>(8), m.num<uint64_t>(tokens.size());
  for (const std::string& s : tokens) m.str(s);
  key("tokenizer.ggml.merges", 9), m.num<uint32_t>(8), m.num<uint64_t>(kMerges.size());
  for (const std::string& s : kMerges) m.str(s);
  key("tokenizer.ggml.token_type", 9), m.num<uint32_t>(5), m.num<uint64_t>(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id) m.num<int32_t>(id >= 259 ? 3 : 1, false);
  u32("tokenizer.ggml.bos_token_id", 259), u32("tokenizer.ggml.eos_token_id", 260);
  key("tokenizer.ggml.add_bos_token", 7), m.num<uint8_t>(1);
  key("tokenizer.chat_template", 8), m.str("{% for m in messages %}{{ m.content }}{% endfor %}");
  return m;
}

}  // namespace

// A GGUF v3 file of the tiny model (q/k rows stored as they are: the values need not be permuted).
Seed gguf_seed() {
  uint64_t n_kv = 0;
  const Writer meta = gguf_metadata(n_kv);
  Writer infos;
  std::string data;
  const auto& model = tiny_model();
  for (size_t t = 0; t < model.size(); ++t) {
    while (data.size() % 32) data += '\0';
    infos.str(model[t].gguf);
    infos.num<uint32_t>(static_cast<uint32_t>(model[t].shape.size()));
    for (auto d = model[t].shape.rbegin(); d != model[t].shape.rend(); ++d) infos.num<uint64_t>(static_cast<uint64_t>(*d));
    infos.num<uint32_t>(model[t].ggml);
    infos.num<uint64_t>(data.size());
    data += tensor_bytes(t, model[t].ggml == kF32 ? "F32" : model[t].ggml == kF16 ? "F16" : "Q8_0");
  }
  Writer g;
  g.out = "GGUF";
  g.num<uint32_t>(3), g.num<uint64_t>(model.size()), g.num<uint64_t>(n_kv);
  g.append(meta);
  g.append(infos);
  while (g.out.size() % 32) g.out += '\0';
  g.out += data;
  return {g.out, g.fields};
}

std::string safetensors_seed() {
  json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  const auto& model = tiny_model();
  for (size_t t = 0; t < model.size(); ++t) {
    const size_t begin = data.size();
    data += tensor_bytes(t, model[t].st_dtype);
    header[model[t].hf] = {{"dtype", model[t].st_dtype}, {"shape", model[t].shape}, {"data_offsets", {begin, data.size()}}};
  }
  const std::string h = header.dump();
  Writer w;
  w.num<uint64_t>(h.size());
  return w.out + h + data;
}

std::string config_json_seed() {
  return json{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", kHidden},
              {"intermediate_size", kFfn}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
              {"num_key_value_heads", 1}, {"vocab_size", kVocab}, {"rms_norm_eps", 1e-5}, {"rope_theta", 1e4},
              {"tie_word_embeddings", true}, {"max_position_embeddings", 64}, {"hidden_act", "silu"}}
      .dump();
}

std::string tokenizer_json_seed() {
  json vocab = json::object();
  const std::vector<std::string> tokens = vocab_tokens();
  for (size_t id = 0; id < 259; ++id) vocab[tokens[id]] = id;
  auto added = [](int id, const char* s) {
    return json{{"id", id}, {"content", s}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                {"normalized", false}, {"special", true}};
  };
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  const json single = {{{"SpecialToken", {{"id", "<|im_start|>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}};
  return json{{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
              {"added_tokens", {added(259, "<|im_start|>"), added(260, "<|im_end|>")}},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "Sequence"},
                                 {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level}}}},
              {"post_processor", {{"type", "TemplateProcessing"}, {"single", single}}},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                         {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                         {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab},
                         {"merges", {kMerges[0], {"h", "e"}, kMerges[2]}}}}}
      .dump();
}

const char* const kTokenizerConfig =
    R"({"add_bos_token": false, "bos_token": "<|im_start|>", "eos_token": {"content": "<|im_end|>"}, "chat_template": "{{x}}"})";

namespace {

// ---- mutations ---------------------------------------------------------------------------------

uint64_t boundary_value(Rng& r, uint64_t old, uint64_t file_size) {
  static const uint64_t fixed[] = {0, 1, 2, 3, 4, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu,
                                   1ull << 32, 1ull << 53, (1ull << 63) - 1, 1ull << 63, ~0ull};
  switch (r.below(4)) {
    case 0: return old + 1 + r.below(3) - 2;            // old - 1 .. old + 1
    case 1: return r.one_in(2) ? file_size + r.below(3) - 1 : file_size - old;
    case 2: return r.one_in(2) ? old + (1ull << 63) : 0 - old;
    default: return fixed[r.below(std::size(fixed))];
  }
}

}  // namespace

// Overwrites one recorded field with a boundary value (fields of the unmutated layout: apply first).
void mutate_field(std::string& s, const std::vector<Field>& fields, Rng& r) {
  if (fields.empty()) return;
  const Field f = fields[r.below(fields.size())];
  if (f.offset + static_cast<size_t>(f.width) > s.size()) return;
  uint64_t old = 0;
  std::memcpy(&old, s.data() + f.offset, static_cast<size_t>(f.width));
  const uint64_t v = boundary_value(r, old, s.size());
  std::memcpy(s.data() + f.offset, &v, static_cast<size_t>(f.width));
}

// One byte-level mutation of s[from, to): to is updated when the length changes.
void mutate_bytes(std::string& s, size_t from, size_t& to, Rng& r) {
  if (to <= from) return;
  const size_t at = from + r.below(to - from), n = 1 + r.below(16);
  static const char interesting[] = {'\0', '\xff', '\x7f', '\x80', '"', '[', '{', '0', ',', '\\'};
  switch (r.below(8)) {
    case 0: s[at] = static_cast<char>(s[at] ^ (1 << r.below(8))); break;
    case 1: s[at] = static_cast<char>(r.next()); break;
    case 2: s[at] = interesting[r.below(std::size(interesting))]; break;
    case 3: s.erase(at), to = std::min(to, s.size()); break;  // truncation
    case 4: s.insert(at, std::string(n, static_cast<char>(r.next()))), to += n; break;
    case 5: {
      const size_t k = std::min(n, to - at);
      s.erase(at, k), to -= k;
      break;
    }
    default: {  // copy a chunk of the input over another place
      const size_t src = from + r.below(to - from), k = std::min({n * 4, to - src, to - at});
      s.replace(at, k, s.substr(src, k));
    }
  }
}

namespace {

// The tokens of the JSON text s[from, to): strings, numbers/literals, punctuation.
std::vector<std::pair<size_t, size_t>> json_tokens(const std::string& s, size_t from, size_t to) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = from; i < to;) {
    const char c = s[i];
    size_t e = i + 1;
    if (c == '"') {
      while (e < to && s[e] != '"') e += s[e] == '\\' ? 2 : 1;
      e = std::min(e + 1, to);
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      while (e < to && (std::isalnum(static_cast<unsigned char>(s[e])) || std::strchr("-+.", s[e]))) ++e;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    out.emplace_back(i, e - i);
    i = e;
  }
  return out;
}

}  // namespace

// One token-level mutation of the JSON text s[from, to).
void mutate_json(std::string& s, size_t from, size_t& to, Rng& r) {
  static const char* const values[] = {
      "0", "1", "-1", "2", "255", "256", "260", "261", "16777215", "16777216", "2147483647", "2147483648",
      "4294967295", "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808",
      "18446744073709551615", "18446744073709551616", "-9223372036854775809", "1.5", "259.0", "-0.0", "1e308",
      "1e400", "null", "true", "false", "\"\"", "\"x\"", "[]", "{}", "[0,0]", "[0,1e19]", "\"F32\"", "\"BPE\""};
  const auto tokens = json_tokens(s, from, to);
  if (tokens.empty()) return;
  const auto [at, len] = tokens[r.below(tokens.size())];
  const auto [at2, len2] = tokens[r.below(tokens.size())];
  std::string with;
  switch (r.below(r.one_in(32) ? 6 : 5)) {
    case 0: with = values[r.below(std::size(values))]; break;
    case 1: with = s.substr(at2, len2); break;          // another token of the document
    case 2: with = ""; break;                           // deleted
    case 3: with = s.substr(at, len) + s.substr(at, len); break;
    case 4: {                                           // two tokens swap places
      if (at == at2) return;
      const std::string a = s.substr(at, len), b = s.substr(at2, len2);
      const bool first = at < at2;
      s.replace(first ? at2 : at, first ? len2 : len, first ? a : b);
      s.replace(first ? at : at2, first ? len : len2, first ? b : a);
      to = to - len - len2 + a.size() + b.size();
      return;
    }
    default: {                                          // a value nested tens of thousands deep
      const size_t depth = size_t{1000} << r.below(8);
      with = std::string(depth, '[') + std::string(depth, ']');
    }
  }
  s.replace(at, len, with);
  to = to - len + with.size();
}

// A safetensors file: the 8-byte header length, the JSON header, the data. After a header edit the
// length is rewritten (mostly), so the edit reaches the JSON parser rather than the length check.
void mutate_safetensors(std::string& s, int n, Rng& r) {
  uint64_t len;
  std::memcpy(&len, s.data(), 8);
  size_t to = 8 + len;
  for (int i = 0; i < n; ++i) {
    const uint64_t kind = r.below(10);
    if (kind == 0) {
      mutate_field(s, {{0, 8}}, r);
      continue;
    }
    if (kind < 3) {  // the data section (insertions there leave the header where it is)
      size_t end = s.size();
      mutate_bytes(s, to, end, r);
      continue;
    }
    if (kind < 5) mutate_bytes(s, 8, to, r);
    else mutate_json(s, 8, to, r);
    if (!r.one_in(8)) {
      len = to - 8;
      std::memcpy(s.data(), &len, 8);
    }
  }
}

}  // namespace ferret::fuzz
