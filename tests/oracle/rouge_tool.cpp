// rouge_tool <pairs.json>: prints ferret's Rouge-L of each [prediction, reference] pair as a JSON
// array, for tests/oracle/test_rouge_oracle.py to compare against the `rouge-score` package.

#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "data/rouge.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: rouge_tool <pairs.json>  (a JSON array of [prediction, reference])\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "rouge_tool: cannot read '" << argv[1] << "'\n";
    return 1;
  }
  const nlohmann::json pairs = nlohmann::json::parse(in);
  nlohmann::json scores = nlohmann::json::array();
  for (const auto& pair : pairs)
    scores.push_back(ferret::rouge_l(pair.at(0).get<std::string>(), pair.at(1).get<std::string>()));
  std::cout << scores.dump() << "\n";
  return 0;
}
