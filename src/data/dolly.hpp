// defines: DollyOptions, load_dolly — Dolly-15K (databricks-dolly-15k.jsonl) as federated clients
//
// The Ferret/FedKSeed Dolly setup: one category is held out for global evaluation; the other
// categories are spread over the clients with a Dirichlet label-skew split (each category's examples
// divided among clients in Dirichlet(alpha) proportions), redrawn until every client holds at least
// min_per_client examples.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/example.hpp"

namespace ferret {

struct DollyOptions {
  std::string file;                             // JSONL: {"instruction","context","response","category"} per line
  int num_clients = 1;                          // >= 1
  uint64_t seed = 0;                            // the split and the Dirichlet draws
  double dirichlet_alpha = 0.5;                 // > 0; small = strong label skew (paper/FedKSeed: 0.5)
  int min_per_client = 10;                      // >= 1 (FedKSeed: 10)
  std::string eval_category = "summarization";  // held out; must occur in the file
  std::function<bool(const Example&)> keep;     // extra filter (e.g. token length); empty = keep all
};

// Example: instruction, input = context (often empty), output = response. Lines that are blank are
// skipped; a line that is not a JSON object with string instruction/response/category is an error
// naming file:line. Clients are named by the categories they hold most of ("c0:open_qa").
// Deterministic: the Dirichlet draws use only mt19937_64's raw output (Marsaglia–Tsang gamma), so the
// split is the same on every rank and standard library. Errors (std::runtime_error, naming the file
// and the value): missing file, unknown eval category (lists the categories found), fewer than
// num_clients × min_per_client training examples, no split reaching the minimum within 1000 draws.
// Bad option values → std::invalid_argument.
FederatedData load_dolly(const DollyOptions& options);

}  // namespace ferret
