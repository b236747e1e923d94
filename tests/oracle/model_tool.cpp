// Oracle helper: runs ferret's model on given token ids and prints what PyTorch's reference is
// compared with (tests/oracle/test_model_oracle.py).
//
//   model_tool <model-dir or .gguf> <input.json> [--dtype fp32|bf16]
//   input.json: {"tokens": [ids...], "generate": N (optional), "text": "..." (optional)}
//   output (JSON, one line): {"logits": [[V floats] per position], "loss": mean next-token CE over all
//   positions, "generated": [N greedy ids after the tokens, with the KV cache], "encoded": ids of text}
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "model/evaluation.hpp"
#include "model/llama.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: model_tool <model-dir or .gguf> <input.json> [--dtype fp32|bf16]\n";
    return 2;
  }
  try {
    ferret::Config c;
    c.model_dir = argv[1];
    if (argc >= 5 && std::string(argv[3]) == "--dtype") c.dtype = ferret::parse_choice<ferret::Precision>("dtype", argv[4]);
    const auto input = nlohmann::json::parse(std::ifstream(argv[2]));
    const auto tokens = input.at("tokens").get<std::vector<int64_t>>();
    c.model.max_seq_len = static_cast<int64_t>(tokens.size()) + input.value("generate", 0) + 1;
    torch::set_num_threads(1);
    auto loaded = ferret::load_model(c);
    auto& model = loaded.model;
    torch::NoGradGuard no_grad;
    model->eval();

    nlohmann::json out;
    const auto ids = torch::tensor(tokens, torch::kInt64).unsqueeze(0);
    {
      ferret::PrecisionScope precision(c.dtype, torch::kCPU);
      const auto logits = model->forward(ids).to(torch::kFloat32).squeeze(0).contiguous();
      const auto mask = torch::ones_like(ids, torch::kUInt8);
      out["loss"] = ferret::masked_lm_loss(logits.unsqueeze(0), ids, mask).first.item<double>();
      std::vector<std::vector<float>> rows;
      for (int64_t t = 0; t < logits.size(0); ++t) {
        const auto row = logits[t];
        rows.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      }
      out["logits"] = rows;
      if (const int n = input.value("generate", 0); n > 0) {
        const std::vector<int32_t> prompt(tokens.begin(), tokens.end());
        out["generated"] = ferret::generate_greedy_ids(model, prompt, {}, n);
      }
    }
    if (input.contains("text")) out["encoded"] = loaded.tokenizer->encode(input.at("text").get<std::string>());
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "model_tool: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
