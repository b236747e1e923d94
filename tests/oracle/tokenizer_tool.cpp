// Oracle helper: encodes texts with ferret's byte-level BPE, for tests/oracle/test_tokenizer_oracle.py
// to compare with Hugging Face `tokenizers`.
//
//   tokenizer_tool <tokenizer.json | model.gguf> <input.json>
//   input:  {"texts": ["...", ...]}
//   output: {"ids": [[...], ...], "decoded": ["...", ...], "bos": b, "eos": e, "seconds": encode time}

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/bpe_tokenizer.hpp"
#include "model/weights.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: tokenizer_tool <tokenizer.json | model.gguf> <input.json>\n";
    return 2;
  }
  try {
    const std::string path = argv[1];
    const bool gguf = path.size() > 5 && path.substr(path.size() - 5) == ".gguf";
    const ferret::BpeTokenizer tok = gguf ? ferret::BpeTokenizer(ferret::bpe_vocab_from_gguf(path))
                                          : ferret::BpeTokenizer::from_tokenizer_json(path);
    const auto input = nlohmann::json::parse(std::ifstream(argv[2]));
    const auto texts = input.at("texts").get<std::vector<std::string>>();
    std::vector<std::vector<int32_t>> ids;
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& t : texts) ids.push_back(tok.encode(t));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json out = {{"ids", ids}, {"bos", tok.bos_id()}, {"eos", tok.eos_id()}, {"seconds", seconds}};
    out["decoded"] = nlohmann::json::array();
    for (const auto& i : ids) out["decoded"].push_back(tok.decode(i));
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "tokenizer_tool: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
