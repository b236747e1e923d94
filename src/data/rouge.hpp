// defines: rouge_l, mean_rouge_l
//
// Rouge-L, the metric of the Ferret paper's Natural Instructions evaluation.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ferret {

// LCS-based F1 (beta = 1) as the `rouge-score` package computes it (RougeScorer(["rougeL"]), no
// stemmer): text is lower-cased (Unicode rules; only U+0130 and U+212A map into ASCII), every run of
// characters outside [a-z0-9] separates tokens. With L = LCS length, P = L/|pred|, R = L/|ref|, the
// result is 2PR/(P+R); 0 when L = 0 or either side has no tokens (also both: rouge-score says 0).
double rouge_l(std::string_view prediction, std::string_view reference);

// Mean of rouge_l over the pairs (preds[i], refs[i]); 0 for no pairs.
// std::invalid_argument when the two spans differ in length.
double mean_rouge_l(std::span<const std::string> preds, std::span<const std::string> refs);

}  // namespace ferret
