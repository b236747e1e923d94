// defines: read_tokenizer_json — a Hugging Face tokenizer.json (and the tokenizer_config.json beside
// it) as the BpeVocab of a byte-level BPE tokenizer
//
// Only what BpeTokenizer implements is accepted (byte-level BPE, the GPT-2 / SmolLM2 / LLaMA-3
// pre-tokenizers, no normalizer); everything else, and every value of the wrong JSON type, is one
// line naming the file.

#include "data/tokenizer_json.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "data/json_file.hpp"

namespace ferret {
namespace {

using json = nlohmann::json;

namespace fs = std::filesystem;

[[noreturn]] void bad_tokenizer(const std::string& path, const std::string& what) {
  throw std::runtime_error("tokenizer '" + path + "': " + what);
}

const std::string kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

bool is_byte_level(const json& p, bool use_regex) {
  return p.is_object() && p.value("type", "") == "ByteLevel" && p.value("use_regex", true) == use_regex &&
         !p.value("add_prefix_space", false);
}

// The pre-tokenizers we implement, recognised by their exact configuration.
std::string recognise_pre_tokenizer(const json& pre, const std::string& path) {
  if (is_byte_level(pre, true)) return "gpt2";
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    const json& seq = pre.at("pretokenizers");
    if (seq.size() == 2 && seq[0].value("type", "") == "Digits" && seq[0].value("individual_digits", false) &&
        is_byte_level(seq[1], true))
      return "smollm";
    if (seq.size() == 2 && seq[0].value("type", "") == "Split" && seq[0].contains("pattern") &&
        seq[0].at("pattern").value("Regex", "") == kLlama3Regex && seq[0].value("behavior", "") == "Isolated" &&
        !seq[0].value("invert", false) && is_byte_level(seq[1], false))
      return "llama3";
  }
  bad_tokenizer(path, "pre_tokenizer " + pre.dump().substr(0, 200) +
                          " is unsupported (allowed: ByteLevel as GPT-2, Digits+ByteLevel as SmolLM2, "
                          "Split(LLaMA-3 regex)+ByteLevel as LLaMA-3)");
}

// "content" of a tokenizer_config.json token entry: a plain string or {"content": ...}.
std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) return v.at("content").get<std::string>();
  return "";
}

// A token id of tokenizer.json. The ids index one table, so they must be integers below the number of
// entries: a small file cannot demand a table of 2^24 strings, and a float is not silently truncated.
int32_t checked_id(const json& id, int64_t limit, const char* key, const std::string& token, const std::string& path) {
  if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= limit)
    bad_tokenizer(path, std::string(key) + " id " + id.dump().substr(0, 40) + " of token '" + token.substr(0, 100) +
                            "' is invalid (allowed: integers 0.." + std::to_string(limit - 1) + ", one per token)");
  return static_cast<int32_t>(id.get<int64_t>());
}

// model.vocab and added_tokens → v.tokens (id → token), v.special_ids and `ids` (token → id).
void read_token_entries(const json& tj, const json& model, const std::string& path, BpeVocab& v,
                        std::unordered_map<std::string, int32_t>& ids) {
  if (!model.contains("vocab") || !model.at("vocab").is_object()) bad_tokenizer(path, "model.vocab is not an object");
  const json& vocab = model.at("vocab");
  const json added = tj.value("added_tokens", json::array());
  if (!added.is_array() && !added.is_null()) bad_tokenizer(path, "added_tokens is not an array");
  const int64_t limit = std::min<int64_t>(static_cast<int64_t>(vocab.size() + added.size()), INT32_MAX);
  std::vector<bool> in_vocab(static_cast<size_t>(limit));
  auto place = [&](const std::string& token, int32_t id) {
    if (static_cast<size_t>(id) >= v.tokens.size()) v.tokens.resize(static_cast<size_t>(id) + 1);
    v.tokens[id] = token, ids[token] = id;
  };
  for (const auto& [token, id] : vocab.items()) {
    const int32_t i = checked_id(id, limit, "model.vocab", token, path);
    if (in_vocab[i]) bad_tokenizer(path, "model.vocab gives id " + std::to_string(i) + " to both '" + v.tokens[i] + "' and '" + token + "'");
    in_vocab[i] = true;
    place(token, i);
  }
  for (const json& t : added) {
    const json& content = t.is_object() ? t.value("content", json()) : json();
    if (!content.is_string() || content.get_ref<const std::string&>().empty())
      bad_tokenizer(path, "added_tokens entry " + t.dump().substr(0, 100) + " has no \"content\" string");
    const int32_t id = checked_id(t.value("id", json()), limit, "added_tokens", content.get<std::string>(), path);
    place(content.get<std::string>(), id);
    v.special_ids.push_back(id);
  }
}

int32_t id_of_first(const std::unordered_map<std::string, int32_t>& ids, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const auto it = ids.find(n); it != ids.end()) return it->second;
  return -1;
}

// nlohmann's "[json.exception.type_error.302] type must be boolean, but is number" without its tag.
std::string json_message(const json::exception& e) {
  const std::string what = e.what();
  const size_t tag_end = what.rfind("] ", what.find(' '));
  return tag_end == std::string::npos ? what : what.substr(tag_end + 2);
}

// BOS/EOS and the chat template from tokenizer_config.json (`tc`), else the well-known names.
void apply_tokenizer_config(const json& tc, const std::unordered_map<std::string, int32_t>& ids, BpeVocab& v) {
  auto id_named = [&](const char* key) {
    const std::string name = tc.contains(key) ? token_content(tc.at(key)) : "";
    const auto it = ids.find(name);
    return it == ids.end() ? -1 : it->second;
  };
  v.eos_id = id_named("eos_token");
  if (v.eos_id < 0) v.eos_id = id_of_first(ids, {"<|eot_id|>", "<|im_end|>", "<|endoftext|>", "</s>", "<|end_of_text|>"});
  if (tc.value("add_bos_token", false)) v.bos_id = id_named("bos_token");
  if (tc.contains("chat_template") && tc.at("chat_template").is_string())
    v.chat_template = tc.at("chat_template").get<std::string>();
}

// read_tokenizer_json without the catch; `reading` names the file being read at each point.
TokenizerJson read_unchecked(const std::string& path, std::string& reading) {
  const json tj = read_json_file(path);
  if (!tj.is_object() || !tj.contains("model") || !tj.at("model").is_object()) bad_tokenizer(path, "no \"model\" object");
  const json& model = tj.at("model");
  if (model.value("type", "") != "BPE")
    bad_tokenizer(path, "model type '" + model.value("type", std::string("?")) + "' is unsupported (allowed: BPE)");
  if (!tj.value("normalizer", json()).is_null())
    bad_tokenizer(path, "a normalizer is unsupported (byte-level BPE models have none)");
  auto unset = [&](const char* key) {  // absent, null or "" (what converters write for "none")
    const json& v = model.value(key, json());
    return v.is_null() || (v.is_string() && v.get<std::string>().empty());
  };
  if (!unset("dropout") || !unset("continuing_subword_prefix") || !unset("end_of_word_suffix"))
    bad_tokenizer(path, "BPE dropout / subword prefix / end-of-word suffix are unsupported");
  const json& decoder = tj.value("decoder", json());
  if (!decoder.is_object() || decoder.value("type", "") != "ByteLevel")
    bad_tokenizer(path, "the decoder is not ByteLevel (only byte-level BPE is supported)");

  BpeVocab v;
  v.pre_tokenizer = recognise_pre_tokenizer(tj.value("pre_tokenizer", json()), path);
  std::unordered_map<std::string, int32_t> ids;
  read_token_entries(tj, model, path, v, ids);
  if (!model.contains("merges") || !model.at("merges").is_array()) bad_tokenizer(path, "model.merges is missing or not an array");
  for (const json& m : model.at("merges")) {
    if (m.is_string()) v.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
      v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else bad_tokenizer(path, "merge " + m.dump().substr(0, 100) + " is neither \"a b\" nor [a, b]");
  }
  const json& unk = model.value("unk_token", json());
  if (unk.is_string() && !ids.count(unk.get<std::string>()))
    bad_tokenizer(path, "unk_token '" + unk.get<std::string>() + "' is not in the vocabulary");
  if (unk.is_string()) v.unk_id = ids.at(unk.get<std::string>());

  // BOS/EOS and chat template from tokenizer_config.json beside it, else the well-known names.
  const fs::path config = fs::path(path).parent_path() / "tokenizer_config.json";
  reading = config.string();
  apply_tokenizer_config(fs::is_regular_file(config) ? read_json_file(config) : json::object(), ids, v);
  reading = path;
  // A BOS is prepended when the config says so, or when the post-processor's template starts with one.
  const json& post = tj.value("post_processor", json());
  auto template_bos = [&](const json& p) {
    if (p.is_object() && p.value("type", "") == "TemplateProcessing" && p.contains("single") &&
        !p.at("single").empty() && p.at("single")[0].contains("SpecialToken")) {
      const auto it = ids.find(p.at("single")[0].at("SpecialToken").value("id", ""));
      if (it != ids.end()) v.bos_id = it->second;
    }
  };
  template_bos(post);
  if (post.is_object() && post.value("type", "") == "Sequence")
    for (const json& p : post.value("processors", json::array())) template_bos(p);

  return {std::move(v), model.value("ignore_merges", false)};
}

}  // namespace

// A value of an unexpected JSON type anywhere (say "add_bos_token": 1) is one line naming the file.
TokenizerJson read_tokenizer_json(const std::string& path) {
  std::string reading = path;  // the file a json::exception came from
  try {
    return read_unchecked(path, reading);
  } catch (const json::exception& e) {
    bad_tokenizer(reading, "unexpected JSON value: " + json_message(e));
  }
}

}  // namespace ferret
