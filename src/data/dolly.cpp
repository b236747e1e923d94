// defines: Dolly-15K JSONL → Dirichlet label-skew federated split + held-out category.

#include "data/dolly.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <stdexcept>

namespace ferret {

namespace {

using json = nlohmann::json;

void validate(const DollyOptions& o) {
  if (o.num_clients < 1)
    throw std::invalid_argument("load_dolly: num_clients " + std::to_string(o.num_clients) + " (allowed: >= 1)");
  if (!(o.dirichlet_alpha > 0.0 && std::isfinite(o.dirichlet_alpha)))
    throw std::invalid_argument("load_dolly: dirichlet_alpha " + std::to_string(o.dirichlet_alpha) +
                                " (allowed: a finite value > 0)");
  if (o.min_per_client < 1)
    throw std::invalid_argument("load_dolly: min_per_client " + std::to_string(o.min_per_client) + " (allowed: >= 1)");
}

std::string string_field(const json& record, const char* key, const std::string& where, bool required) {
  const auto it = record.find(key);
  if (it != record.end() && it->is_string()) return it->get<std::string>();
  if (!required && (it == record.end() || it->is_null())) return {};
  throw std::runtime_error(where + ": field \"" + key + "\" is missing or not a string");
}

// Category name → its examples, in file order.
std::map<std::string, std::vector<Example>> read_by_category(const DollyOptions& o) {
  std::ifstream in(o.file);
  if (!in) throw std::runtime_error("cannot open Dolly file '" + o.file + "' (--data-file)");
  std::map<std::string, std::vector<Example>> by_category;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = o.file + ":" + std::to_string(number);
    json record;
    try {
      record = json::parse(line);
    } catch (const json::exception& e) {
      throw std::runtime_error(where + ": not a JSON object (" + e.what() + ")");
    }
    if (!record.is_object()) throw std::runtime_error(where + ": not a JSON object");
    Example ex{string_field(record, "instruction", where, true), string_field(record, "context", where, false),
               string_field(record, "response", where, true)};
    const std::string category = string_field(record, "category", where, true);
    std::vector<Example>& bucket = by_category[category];  // listed even when the filter empties it
    if (o.keep && !o.keep(ex)) continue;
    bucket.push_back(std::move(ex));
  }
  if (in.bad()) throw std::runtime_error("cannot read Dolly file '" + o.file + "'");
  return by_category;
}

// ---- deterministic sampling from raw mt19937_64 output (the <random> distributions are
// implementation-defined, and every rank must draw the same split) ----
double uniform_open01(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;  // in (0, 1): safe for log
}

double standard_normal(std::mt19937_64& rng) {  // Box–Muller
  const double u1 = uniform_open01(rng), u2 = uniform_open01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 via Gamma(shape + 1) · U^(1/shape).
double gamma_sample(std::mt19937_64& rng, double shape) {
  if (shape < 1.0) return gamma_sample(rng, shape + 1.0) * std::pow(uniform_open01(rng), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = standard_normal(rng);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open01(rng);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

std::vector<double> dirichlet_sample(std::mt19937_64& rng, double alpha, size_t n) {
  std::vector<double> p(n);
  for (double& x : p) x = gamma_sample(rng, alpha);
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x = sum > 0.0 ? x / sum : 1.0 / static_cast<double>(n);
  return p;
}

// One draw of the FedKSeed/FedML label-skew split: for each category, Dirichlet proportions over the
// clients (zeroed for clients already above the average size, which keeps sizes from running away),
// then its shuffled examples are cut at the cumulative proportions. Returns example indices per client.
std::vector<std::vector<size_t>> dirichlet_split(const std::vector<std::vector<size_t>>& by_label, size_t clients,
                                                 double alpha, size_t total, std::mt19937_64& rng) {
  std::vector<std::vector<size_t>> out(clients);
  const double average = static_cast<double>(total) / static_cast<double>(clients);
  for (std::vector<size_t> members : by_label) {
    detail::deterministic_shuffle(members, rng);
    std::vector<double> p = dirichlet_sample(rng, alpha, clients);
    for (size_t c = 0; c < clients; ++c)
      if (static_cast<double>(out[c].size()) >= average) p[c] = 0.0;
    const double sum = std::accumulate(p.begin(), p.end(), 0.0);
    if (sum <= 0.0) std::fill(p.begin(), p.end(), 1.0 / static_cast<double>(clients));
    else for (double& x : p) x /= sum;
    double cumulative = 0.0;
    size_t begin = 0;
    for (size_t c = 0; c < clients; ++c) {
      cumulative += p[c];
      const size_t end = c + 1 == clients ? members.size()
                                          : std::min(members.size(), static_cast<size_t>(cumulative * static_cast<double>(members.size())));
      for (size_t i = begin; i < end; ++i) out[c].push_back(members[i]);
      begin = std::max(begin, end);
    }
  }
  return out;
}

std::string category_list(const std::map<std::string, std::vector<Example>>& by_category) {
  std::string names;
  for (const auto& entry : by_category) {
    if (!names.empty()) names += '|';
    names += entry.first;
  }
  return names;
}

}  // namespace

FederatedData load_dolly(const DollyOptions& o) {
  validate(o);
  std::map<std::string, std::vector<Example>> by_category = read_by_category(o);
  if (by_category.empty())
    throw std::runtime_error("'" + o.file + "' holds no Dolly record (allowed: JSONL lines of {instruction, context, "
                             "response, category})");
  const auto held_out = by_category.find(o.eval_category);
  if (held_out == by_category.end())
    throw std::runtime_error("Dolly eval category '" + o.eval_category + "' is not in '" + o.file +
                             "' (allowed: " + category_list(by_category) + ")");
  if (held_out->second.empty())
    throw std::runtime_error("Dolly eval category '" + o.eval_category + "' has no example left after the length filter "
                             "(allowed: a larger --max-length)");
  FederatedData data;
  data.eval = std::move(held_out->second);
  by_category.erase(held_out);

  // Training pool: the other categories in alphabetical order, as one indexed list.
  std::vector<Example> pool;
  std::vector<std::string> label_names;
  std::vector<std::vector<size_t>> by_label;
  for (auto& [name, examples] : by_category) {
    label_names.push_back(name);
    by_label.emplace_back();
    for (Example& ex : examples) {
      by_label.back().push_back(pool.size());
      pool.push_back(std::move(ex));
    }
  }
  const size_t clients = static_cast<size_t>(o.num_clients), minimum = static_cast<size_t>(o.min_per_client);
  if (pool.size() < clients * minimum)
    throw std::runtime_error("Dolly file '" + o.file + "' has " + std::to_string(pool.size()) +
                             " training examples for " + std::to_string(clients) + " clients x --min-per-client " +
                             std::to_string(minimum) + " (allowed: fewer clients or a lower minimum)");

  std::mt19937_64 rng(detail::stream_seed({o.seed, detail::hash_string("dolly-dirichlet")}));
  std::vector<std::vector<size_t>> split;
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000)
      throw std::runtime_error("Dolly split: no Dirichlet(" + std::to_string(o.dirichlet_alpha) + ") draw gave all " +
                               std::to_string(clients) + " clients >= " + std::to_string(minimum) +
                               " examples in 1000 tries (allowed: a larger --dirichlet-alpha, fewer clients, a lower --min-per-client)");
    split = dirichlet_split(by_label, clients, o.dirichlet_alpha, pool.size(), rng);
    const bool enough = std::all_of(split.begin(), split.end(), [&](const auto& s) { return s.size() >= minimum; });
    if (enough) break;
  }

  for (size_t c = 0; c < clients; ++c) {
    ClientData client;
    std::vector<size_t> per_label(label_names.size(), 0);
    for (size_t index : split[c]) {
      client.train.push_back(pool[index]);
      for (size_t l = 0; l < by_label.size(); ++l)
        if (std::binary_search(by_label[l].begin(), by_label[l].end(), index)) ++per_label[l];
    }
    // Interleave the categories: local SGD sees a mixed stream, not one category after another.
    std::mt19937_64 order(detail::stream_seed({o.seed, detail::hash_string("dolly-client"), c}));
    detail::deterministic_shuffle(client.train, order);
    const size_t top = static_cast<size_t>(std::max_element(per_label.begin(), per_label.end()) - per_label.begin());
    client.name = std::to_string(c);
    client.name.insert(0, 1, 'c');
    client.name.append(":").append(label_names[top]);
    data.clients.push_back(std::move(client));
  }
  return data;
}

}  // namespace ferret
