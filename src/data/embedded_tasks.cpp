// defines: Embedded synthetic instruction tasks and the deterministic randomness shared by the data sources.

#include "data/embedded_tasks.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <stdexcept>
#include <unordered_set>

namespace ferret {

namespace detail {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t hash_string(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

uint64_t stream_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x243F6A8885A308D3ULL;  // any fixed start; mixing after each part makes the order matter
  for (uint64_t part : parts) h = mix64(h ^ mix64(part));
  return h;
}

uint64_t bounded_draw(std::mt19937_64& rng, uint64_t n) {
  if (n == 0) throw std::invalid_argument("bounded_draw: n is 0 (allowed: >= 1)");
  // Reject the lowest (2^64 mod n) values so that every residue is equally likely.
  const uint64_t threshold = (0 - n) % n;
  uint64_t r;
  do r = rng(); while (r < threshold);
  return r % n;
}

}  // namespace detail

namespace {

using Rng = std::mt19937_64;

// Stream tags: the train and eval streams of a family never share a seed.
constexpr uint64_t kTrainStream = 1, kEvalStream = 2;

int draw_int(Rng& rng, int lo, int hi) {  // uniform in [lo, hi]
  return lo + static_cast<int>(detail::bounded_draw(rng, static_cast<uint64_t>(hi - lo + 1)));
}

std::string draw_string(Rng& rng, std::string_view alphabet, int min_len, int max_len) {
  std::string s(static_cast<size_t>(draw_int(rng, min_len, max_len)), ' ');
  for (char& c : s) c = alphabet[detail::bounded_draw(rng, alphabet.size())];
  return s;
}

constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kLettersDigits = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kDigits = "0123456789";

struct Instance {
  std::string input, output;
};

// A task family: a fixed instruction and a generator that draws an input and computes its exact answer.
// Instructions are short so that the whole encoded example stays under 96 byte tokens.
struct Family {
  std::string_view name;
  std::string_view instruction;
  std::function<Instance(Rng&)> generate;
};

Instance make_copy(Rng& rng) {
  std::string s = draw_string(rng, kLettersDigits, 3, 8);
  return {s, s};
}

Instance make_reverse(Rng& rng) {
  std::string s = draw_string(rng, kLetters, 3, 8);
  return {s, std::string(s.rbegin(), s.rend())};
}

Instance make_uppercase(Rng& rng) {
  std::string s = draw_string(rng, kLetters, 3, 8);
  std::string upper = s;
  for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
  return {s, upper};
}

Instance make_sort_letters(Rng& rng) {
  std::string s = draw_string(rng, kLetters, 3, 8);
  std::string sorted = s;
  std::sort(sorted.begin(), sorted.end());
  return {s, sorted};
}

Instance make_add(Rng& rng) {
  const int a = draw_int(rng, 0, 999), b = draw_int(rng, 0, 999);
  return {std::to_string(a) + "+" + std::to_string(b), std::to_string(a + b)};
}

// "c:word" → occurrences of c in word. A 6-letter alphabet makes counts of 0, 1, 2, 3... all common.
Instance make_count_letter(Rng& rng) {
  constexpr std::string_view alphabet = "abcdef";
  const std::string word = draw_string(rng, alphabet, 3, 8);
  const char letter = alphabet[detail::bounded_draw(rng, alphabet.size())];
  return {std::string(1, letter) + ":" + word, std::to_string(std::count(word.begin(), word.end(), letter))};
}

// "n:x,y,z,..." (3..6 one-character items, 1 <= n <= items) → the first n items, comma-separated.
Instance make_first_i(Rng& rng) {
  const std::string items = draw_string(rng, kLettersDigits, 3, 6);
  const int n = draw_int(rng, 1, static_cast<int>(items.size()));
  auto join = [](std::string_view chars) {
    std::string list;
    for (char c : chars) {
      if (!list.empty()) list.push_back(',');
      list.push_back(c);
    }
    return list;
  };
  return {std::to_string(n) + ":" + join(items), join(std::string_view(items).substr(0, static_cast<size_t>(n)))};
}

Instance make_max_digit(Rng& rng) {
  const std::string digits = draw_string(rng, kDigits, 3, 8);
  return {digits, std::string(1, *std::max_element(digits.begin(), digits.end()))};
}

Instance make_count_vowels(Rng& rng) {
  const std::string s = draw_string(rng, kLetters, 3, 8);
  const auto vowels = std::count_if(s.begin(), s.end(), [](char c) { return std::string_view("aeiou").find(c) != std::string_view::npos; });
  return {s, std::to_string(vowels)};
}

// 2..3 words of 2..4 letters separated by single spaces → the last word.
Instance make_last_word(Rng& rng) {
  const int words = draw_int(rng, 2, 3);
  std::string text, word;
  for (int w = 0; w < words; ++w) {
    word = draw_string(rng, kLetters, 2, 4);
    if (w > 0) text.push_back(' ');
    text += word;
  }
  return {text, word};
}

const std::array<Family, 10>& families() {
  static const std::array<Family, 10> kFamilies{{
      {"copy", "Repeat the text exactly.", make_copy},
      {"reverse", "Reverse the letters.", make_reverse},
      {"uppercase", "Write it in uppercase.", make_uppercase},
      {"sort_letters", "Sort the letters.", make_sort_letters},
      {"add", "Add the two numbers.", make_add},
      {"count_letter", "Count the letter in the word.", make_count_letter},
      {"first_i", "Keep the first n items.", make_first_i},
      {"max_digit", "Give the largest digit.", make_max_digit},
      {"count_vowels", "Count the vowels.", make_count_vowels},
      {"last_word", "Give the last word.", make_last_word},
  }};
  return kFamilies;
}

// A draw that keeps failing means the family's input space is too small for the requested unique eval set.
constexpr int kMaxRedraws = 100000;

// eval_per_task distinct instances of a family, from its eval stream.
std::vector<Instance> draw_eval_instances(const Family& family, uint64_t seed, int count) {
  Rng rng(detail::stream_seed({seed, detail::hash_string(family.name), kEvalStream}));
  std::vector<Instance> instances;
  std::unordered_set<std::string> seen;
  for (int redraws = 0; static_cast<int>(instances.size()) < count;) {
    Instance instance = family.generate(rng);
    if (seen.insert(instance.input).second) {
      instances.push_back(std::move(instance));
    } else if (++redraws > kMaxRedraws) {
      throw std::invalid_argument("make_embedded_data: eval_per_task " + std::to_string(count) +
                                  " exceeds the distinct inputs of family '" + std::string(family.name) + "'");
    }
  }
  return instances;
}

// The next training instance of a family whose input is not among its eval inputs (disjointness by redraw).
Instance draw_train_instance(const Family& family, Rng& rng, const std::unordered_set<std::string>& eval_inputs) {
  for (int redraws = 0; redraws <= kMaxRedraws; ++redraws) {
    Instance instance = family.generate(rng);
    if (!eval_inputs.contains(instance.input)) return instance;
  }
  throw std::runtime_error("make_embedded_data: no training input of family '" + std::string(family.name) +
                           "' outside its eval set after " + std::to_string(kMaxRedraws) + " draws");
}

Example to_example(const Family& family, Instance instance) {
  return {std::string(family.instruction), std::move(instance.input), std::move(instance.output)};
}

// The families a client holds: (i mod F), plus ((i + F/2) mod F) for every third client (i mod 3 == 2),
// so that some clients are multi-task while clients 0 and 1 stay single-task and different.
std::vector<size_t> client_families(int client) {
  const size_t f = families().size(), i = static_cast<size_t>(client);
  std::vector<size_t> held{i % f};
  if (i % 3 == 2) held.push_back((i + f / 2) % f);
  return held;
}

}  // namespace

std::vector<std::string> embedded_task_names() {
  std::vector<std::string> names;
  for (const Family& family : families()) names.emplace_back(family.name);
  return names;
}

std::string embedded_task_instruction(std::string_view name) {
  for (const Family& family : families())
    if (family.name == name) return std::string(family.instruction);
  throw std::invalid_argument("embedded_task_instruction: unknown task family '" + std::string(name) +
                              "' (allowed: copy, reverse, uppercase, sort_letters, add, count_letter, first_i, "
                              "max_digit, count_vowels, last_word)");
}

FederatedData make_embedded_data(int num_clients, uint64_t seed, int train_per_client, int eval_per_task) {
  if (num_clients < 1)
    throw std::invalid_argument("make_embedded_data: num_clients " + std::to_string(num_clients) + " (allowed: >= 1)");
  if (train_per_client < 1)
    throw std::invalid_argument("make_embedded_data: train_per_client " + std::to_string(train_per_client) +
                                " (allowed: >= 1)");
  if (eval_per_task < 0)
    throw std::invalid_argument("make_embedded_data: eval_per_task " + std::to_string(eval_per_task) +
                                " (allowed: >= 0)");

  FederatedData data;
  std::vector<std::unordered_set<std::string>> eval_inputs(families().size());
  for (size_t f = 0; f < families().size(); ++f) {
    for (Instance& instance : draw_eval_instances(families()[f], seed, eval_per_task)) {
      eval_inputs[f].insert(instance.input);
      data.eval.push_back(to_example(families()[f], std::move(instance)));
    }
  }

  for (int client = 0; client < num_clients; ++client) {
    const std::vector<size_t> held = client_families(client);
    ClientData client_data;
    std::vector<Rng> streams;
    for (size_t f : held) {
      if (!client_data.name.empty()) client_data.name.push_back('+');  // "first+second"
      client_data.name += families()[f].name;
      streams.emplace_back(detail::stream_seed(
          {seed, detail::hash_string(families()[f].name), static_cast<uint64_t>(client), kTrainStream}));
    }
    for (int k = 0; k < train_per_client; ++k) {
      const size_t which = static_cast<size_t>(k) % held.size();  // alternate the held families
      const Family& family = families()[held[which]];
      client_data.train.push_back(
          to_example(family, draw_train_instance(family, streams[which], eval_inputs[held[which]])));
    }
    data.clients.push_back(std::move(client_data));
  }
  return data;
}

}  // namespace ferret
