// defines: open_pretrained — resolution of --model-dir into weights + tokenizer + architecture

#include "model/pretrained.hpp"

#include <filesystem>
#include <vector>

#include "data/bpe_tokenizer.hpp"

namespace fs = std::filesystem;

namespace ferret {
namespace {

bool has_gguf_extension(const fs::path& p) { return p.extension() == ".gguf"; }

// The single *.gguf inside a folder, or "" when there is none; two or more is ambiguous.
std::string only_gguf_in(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && has_gguf_extension(entry.path())) found.push_back(entry.path());
  if (found.size() > 1)
    throw ConfigError("--model-dir '" + dir.string() + "' holds " + std::to_string(found.size()) +
                      " .gguf files: name the one to use");
  return found.empty() ? std::string() : found.front().string();
}

Pretrained open_gguf_model(const std::string& file) {
  Pretrained p;
  p.format = "gguf";
  p.path = file;
  p.weights = open_gguf(file);
  p.tokenizer = std::make_unique<BpeTokenizer>(bpe_vocab_from_gguf(file));
  return p;
}

Pretrained open_hf_folder(const fs::path& dir) {
  const fs::path tokenizer_json = dir / "tokenizer.json";
  if (!fs::is_regular_file(dir / "config.json"))
    throw ConfigError("--model-dir '" + dir.string() +
                      "' has no config.json (allowed: a Hugging Face model folder, or a .gguf file)");
  if (!fs::is_regular_file(tokenizer_json))
    throw ConfigError("--model-dir '" + dir.string() + "' has no tokenizer.json (a byte-level BPE tokenizer is needed)");
  Pretrained p;
  p.format = "safetensors";
  p.path = dir.string();
  p.weights = open_safetensors(dir.string());
  p.tokenizer = std::make_unique<BpeTokenizer>(BpeTokenizer::from_tokenizer_json(tokenizer_json.string()));
  return p;
}

}  // namespace

Pretrained open_pretrained(const std::string& path, int64_t max_seq_len) {
  const fs::path p(path);
  Pretrained out;
  try {
    if (fs::is_regular_file(p)) {
      if (!has_gguf_extension(p))
        throw ConfigError("--model-dir '" + path + "' is a file but not a .gguf (allowed: a Hugging Face folder or a .gguf file)");
      out = open_gguf_model(path);
    } else if (fs::is_directory(p)) {
      const std::string gguf = fs::is_regular_file(p / "config.json") ? std::string() : only_gguf_in(p);
      out = gguf.empty() ? open_hf_folder(p) : open_gguf_model(gguf);
    } else {
      throw ConfigError("--model-dir '" + path + "' does not exist");
    }
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(std::string("--model-dir: ") + e.what());
  }
  out.model = out.weights->model_config();
  const int64_t positions = out.weights->max_position_embeddings();
  if (positions > 0 && max_seq_len > positions)
    throw ConfigError("--max-seq-len = " + std::to_string(max_seq_len) + " is invalid: allowed <= " +
                      std::to_string(positions) + ", the max positions of '" + path + "'");
  out.model.max_seq_len = max_seq_len;
  if (out.tokenizer->vocab_size() > out.model.vocab_size)
    throw ConfigError("--model-dir '" + path + "': the tokenizer has " + std::to_string(out.tokenizer->vocab_size()) +
                      " tokens but the model's embedding only " + std::to_string(out.model.vocab_size));
  check_llama_tensors(*out.weights, out.model);
  return out;
}

}  // namespace ferret
