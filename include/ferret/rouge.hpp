#pragma once
// Rouge-L, the metric of the Ferret paper's Natural Instructions evaluation.

#include <span>
#include <string>
#include <string_view>

namespace ferret {

// LCS-based F1 (beta = 1) of whitespace tokens, ASCII-lower-cased: with L = LCS length, P = L/|pred|,
// R = L/|ref|, the result is 2PR/(P+R) (0 when L = 0). Tokens are split on any ASCII whitespace; no other
// normalisation (punctuation stays part of its token). Both sides without tokens → 1 (an exact match of
// nothing); exactly one side without tokens → 0.
double rouge_l(std::string_view prediction, std::string_view reference);

// Mean of rouge_l over the pairs (preds[i], refs[i]); 0 for no pairs.
// std::invalid_argument when the two spans differ in length.
double mean_rouge_l(std::span<const std::string> preds, std::span<const std::string> refs);

}  // namespace ferret
