// defines: make_embedded_data, embedded_task_names, embedded_task_instruction
//
// Embedded synthetic instruction tasks: generated deterministically in code, so a run needs no data files.
// Every string is short (the whole encoded example stays under 96 byte tokens) and every answer is computed
// exactly, so a model's Rouge-L on them measures real learning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/example.hpp"

namespace ferret {

// The task families, in their fixed order (family index f = position in this list):
//   copy, reverse, uppercase, sort_letters, add, count_letter, first_i, max_digit, count_vowels, last_word.
std::vector<std::string> embedded_task_names();

// The fixed instruction string of a family; std::invalid_argument for an unknown name.
std::string embedded_task_instruction(std::string_view family);

// Non-IID federated split of the embedded tasks, F = embedded_task_names().size():
//  - client i holds family (i mod F); clients with i mod 3 == 2 also hold family ((i + F/2) mod F) and are named
//    "<first>+<second>"; their train examples alternate first, second, first, ...
//  - train_per_client (>= 1) examples per client, from a stream seeded by (seed, family, client, "train");
//  - eval: eval_per_task (>= 0) instances of EVERY family, family by family in the order above, from a stream
//    seeded by (seed, family, "eval"); unique within a family, and a training draw equal to an eval instance
//    of its family is redrawn, so eval is disjoint from all training data by construction.
// The same arguments give identical data on every platform (own hash + bounded draws on std::mt19937_64).
// Errors: num_clients < 1, train_per_client < 1 or eval_per_task < 0 → std::invalid_argument.
FederatedData make_embedded_data(int num_clients, uint64_t seed, int train_per_client, int eval_per_task);

}  // namespace ferret
