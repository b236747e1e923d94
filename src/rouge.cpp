// Rouge-L: F1 of the longest common subsequence of whitespace tokens.

#include "ferret/rouge.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace ferret {

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// ASCII-lower-cased tokens split on any whitespace; non-ASCII bytes are kept as they are.
std::vector<std::string> lowercase_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : text) {
    if (is_ascii_space(c)) {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

// Classic dynamic programme, two rows: O(|a|·|b|) time, O(|b|) memory.
size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<size_t> previous(b.size() + 1, 0), current(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j)
      current[j] = (a[i - 1] == b[j - 1]) ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

double rouge_l(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> pred = lowercase_tokens(prediction), ref = lowercase_tokens(reference);
  if (pred.empty() && ref.empty()) return 1.0;
  if (pred.empty() || ref.empty()) return 0.0;
  const size_t lcs = lcs_length(pred, ref);
  if (lcs == 0) return 0.0;
  const double precision = static_cast<double>(lcs) / static_cast<double>(pred.size());
  const double recall = static_cast<double>(lcs) / static_cast<double>(ref.size());
  return 2.0 * precision * recall / (precision + recall);
}

double mean_rouge_l(std::span<const std::string> preds, std::span<const std::string> refs) {
  if (preds.size() != refs.size())
    throw std::invalid_argument("mean_rouge_l: " + std::to_string(preds.size()) + " predictions for " +
                                std::to_string(refs.size()) + " references (allowed: equal counts)");
  if (preds.empty()) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < preds.size(); ++i) sum += rouge_l(preds[i], refs[i]);
  return sum / static_cast<double>(preds.size());
}

}  // namespace ferret
