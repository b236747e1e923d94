// defines: Natural Instructions (v2) task files → federated clients + held-out eval set.

#include "data/natural_instructions.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

namespace ferret {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct NiTask {
  std::string name;              // file name without ".json"
  std::vector<Example> train, eval;
};

void validate(const NiOptions& options) {
  if (options.num_clients < 1)
    throw std::invalid_argument("load_natural_instructions: num_clients " + std::to_string(options.num_clients) +
                                " (allowed: >= 1)");
  if (!(options.eval_fraction >= 0.0 && options.eval_fraction < 1.0))
    throw std::invalid_argument("load_natural_instructions: eval_fraction " + std::to_string(options.eval_fraction) +
                                " (allowed: 0 <= eval_fraction < 1)");
  if (options.max_instances_per_task < 0)
    throw std::invalid_argument("load_natural_instructions: max_instances_per_task " +
                                std::to_string(options.max_instances_per_task) + " (allowed: >= 0, 0 = all)");
  if (!(options.instance_fraction > 0.0 && options.instance_fraction <= 1.0))
    throw std::invalid_argument("load_natural_instructions: instance_fraction " +
                                std::to_string(options.instance_fraction) + " (allowed: 0 < instance_fraction <= 1)");
  if (options.eval_fraction == 0.0 && options.eval_tasks.empty())
    throw std::invalid_argument("load_natural_instructions: eval_fraction 0 with no eval task leaves no eval set "
                                "(allowed: eval_fraction > 0, or name eval tasks)");
  if (options.min_instances < 0)
    throw std::invalid_argument("load_natural_instructions: min_instances " + std::to_string(options.min_instances) +
                                " (allowed: >= 0)");
}

std::vector<fs::path> json_files_sorted(const std::string& dir) {
  if (dir.empty()) throw std::runtime_error("Natural Instructions dir is not set (empty path)");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("Natural Instructions dir " + dir + " does not exist or is not a directory");
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  if (files.empty()) throw std::runtime_error("Natural Instructions dir " + dir + " holds no *.json task file");
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return files;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open Natural Instructions file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read Natural Instructions file " + path.string());
  return text.str();
}

// Upstream files hold bare NaN (Python's json.dump of float('nan')), which strict JSON rejects. Outside strings
// the only bare words JSON allows are true/false/null, so NaN, Infinity and -Infinity there become null.
std::string replace_non_finite_literals(const std::string& text) {
  static constexpr std::string_view kLiterals[] = {"-Infinity", "Infinity", "NaN"};
  std::string out;
  out.reserve(text.size());
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      out.push_back(c);
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (std::string_view literal : kLiterals) {
      if (std::string_view(text).substr(i, literal.size()) == literal) {
        out += "null";
        i += literal.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(c);
  }
  return out;
}

json parse_task_file(const fs::path& path) {
  try {
    return json::parse(replace_non_finite_literals(read_file(path)));
  } catch (const json::exception& e) {
    throw std::runtime_error("cannot parse Natural Instructions file " + path.string() + ": " + e.what());
  }
}

std::string definition_of(const json& task, const fs::path& path) {
  const auto it = task.find("Definition");
  if (!task.is_object() || it == task.end() || !it->is_array() || it->empty() || !(*it)[0].is_string())
    throw std::runtime_error("Natural Instructions file " + path.string() +
                             " has no \"Definition\" list starting with a string");
  return (*it)[0].get<std::string>();
}

// Instances with a string input of allowed length, a string first output, and an input not seen before.
std::vector<Example> usable_instances(const json& task, const fs::path& path, const std::string& instruction,
                                      const NiOptions& options) {
  const size_t max_input_chars = options.max_input_chars;
  const auto it = task.find("Instances");
  if (it == task.end() || !it->is_array())
    throw std::runtime_error("Natural Instructions file " + path.string() + " has no \"Instances\" list");
  std::vector<Example> examples;
  std::unordered_set<std::string> inputs_seen;
  size_t mistyped = 0;
  for (const json& instance : *it) {
    const auto input = instance.is_object() ? instance.find("input") : instance.end();
    const auto output = instance.is_object() ? instance.find("output") : instance.end();
    if (!instance.is_object() || input == instance.end() || !input->is_string() || output == instance.end() ||
        !output->is_array() || output->empty() || !(*output)[0].is_string()) {
      ++mistyped;
      continue;
    }
    std::string text = input->get<std::string>();
    if (max_input_chars != 0 && text.size() > max_input_chars) continue;
    if (!inputs_seen.insert(text).second) continue;
    Example example{instruction, std::move(text), (*output)[0].get<std::string>()};
    if (options.keep && !options.keep(example)) continue;
    examples.push_back(std::move(example));
  }
  if (mistyped > 0 && options.warn)
    options.warn("Natural Instructions file " + path.string() + ": skipped " + std::to_string(mistyped) + " of " +
                 std::to_string(it->size()) + " instances that are not {\"input\": string, \"output\": [string, ...]}");
  return examples;
}

size_t eval_count(size_t n, double eval_fraction) {
  if (eval_fraction == 0.0) return 0;
  const auto rounded = static_cast<size_t>(std::llround(eval_fraction * static_cast<double>(n)));
  return std::clamp<size_t>(rounded, 1, n - 1);  // at least one held out, at least one left to train on
}

// The paper's test-task evaluation size: max(20, 2 %) of a held-out task's instances.
size_t eval_task_count(size_t n) {
  const auto two_percent = static_cast<size_t>(std::ceil(0.02 * static_cast<double>(n)));
  return std::min(n, std::max<size_t>(20, two_percent));
}

// ceil(fraction * n), at least 2 (one to train on, one to hold out), at most n.
size_t kept_count(size_t n, double fraction) {
  const auto kept = static_cast<size_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
  return std::min(n, std::max<size_t>(2, kept));
}

bool is_eval_task(const std::string& name, const NiOptions& options) {
  return std::find(options.eval_tasks.begin(), options.eval_tasks.end(), name) != options.eval_tasks.end();
}

// One task file, shuffled and split; a task with too few usable instances comes back with an empty name.
NiTask load_task(const fs::path& path, const NiOptions& options) {
  const json task = parse_task_file(path);
  const std::string instruction = definition_of(task, path);
  std::vector<Example> examples = usable_instances(task, path, instruction, options);

  NiTask result;
  const size_t min_instances = std::max<size_t>(2, static_cast<size_t>(options.min_instances));
  if (examples.size() < min_instances) {
    if (options.warn)
      options.warn("Natural Instructions task " + path.stem().string() + " left out: " + std::to_string(examples.size()) +
                   " usable instances, fewer than the " + std::to_string(min_instances) + " a task needs");
    return result;
  }
  result.name = path.stem().string();

  std::mt19937_64 rng(detail::stream_seed({options.seed, detail::hash_string(result.name)}));
  detail::deterministic_shuffle(examples, rng);
  if (is_eval_task(result.name, options)) {
    examples.resize(eval_task_count(examples.size()));
    result.eval = std::move(examples);
    return result;
  }
  examples.resize(kept_count(examples.size(), options.instance_fraction));
  if (options.max_instances_per_task > 0 && examples.size() > static_cast<size_t>(options.max_instances_per_task))
    examples.resize(std::max<size_t>(2, static_cast<size_t>(options.max_instances_per_task)));

  const auto split = examples.begin() + static_cast<std::ptrdiff_t>(eval_count(examples.size(), options.eval_fraction));
  result.eval.assign(std::make_move_iterator(examples.begin()), std::make_move_iterator(split));
  result.train.assign(std::make_move_iterator(split), std::make_move_iterator(examples.end()));
  return result;
}

// C <= T: task t → client t mod C; a multi-task client's train set is shuffled so its tasks are interleaved.
std::vector<ClientData> tasks_to_fewer_clients(const std::vector<NiTask>& tasks, int num_clients, uint64_t seed) {
  std::vector<ClientData> clients(static_cast<size_t>(num_clients));
  for (size_t t = 0; t < tasks.size(); ++t) {
    ClientData& client = clients[t % clients.size()];
    if (!client.name.empty()) client.name.push_back('+');  // "a+b+..."
    client.name += tasks[t].name;
    client.train.insert(client.train.end(), tasks[t].train.begin(), tasks[t].train.end());
  }
  if (tasks.size() > clients.size()) {
    for (size_t c = 0; c < clients.size(); ++c) {
      std::mt19937_64 rng(detail::stream_seed({seed, detail::hash_string("client"), c}));
      detail::deterministic_shuffle(clients[c].train, rng);
    }
  }
  return clients;
}

// C > T: client c holds task c mod T; task t's train instances are cut into contiguous near-equal parts, one per
// client holding it (part k goes to client t + k·T).
std::vector<ClientData> tasks_split_over_clients(const std::vector<NiTask>& tasks, int num_clients) {
  const size_t num_tasks = tasks.size(), total = static_cast<size_t>(num_clients);
  std::vector<ClientData> clients(total);
  for (size_t t = 0; t < num_tasks; ++t) {
    const size_t parts = (total - t + num_tasks - 1) / num_tasks;  // clients t, t+T, t+2T, ... below C
    const std::vector<Example>& train = tasks[t].train;
    if (train.size() < parts)
      throw std::runtime_error("Natural Instructions task " + tasks[t].name + " has " + std::to_string(train.size()) +
                               " train instances for " + std::to_string(parts) +
                               " clients (allowed: at least one per client; use fewer clients)");
    for (size_t k = 0; k < parts; ++k) {
      const auto begin = train.begin() + static_cast<std::ptrdiff_t>(k * train.size() / parts);
      const auto end = train.begin() + static_cast<std::ptrdiff_t>((k + 1) * train.size() / parts);
      clients[t + k * num_tasks] = {tasks[t].name, std::vector<Example>(begin, end)};
    }
  }
  return clients;
}

}  // namespace

FederatedData load_natural_instructions(const NiOptions& options) {
  validate(options);
  const std::vector<fs::path> files = json_files_sorted(options.dir);
  for (const std::string& name : options.eval_tasks) {
    const bool found = std::any_of(files.begin(), files.end(), [&](const fs::path& f) { return f.stem() == name; });
    if (!found)
      throw std::runtime_error("eval task '" + name + "' has no file " + name + ".json in " + options.dir +
                               " (allowed: names of the task files there)");
  }
  std::vector<NiTask> tasks, held_out_tasks;
  for (const fs::path& path : files) {
    NiTask task = load_task(path, options);
    if (task.name.empty()) continue;
    (is_eval_task(task.name, options) ? held_out_tasks : tasks).push_back(std::move(task));
  }
  if (tasks.empty())
    throw std::runtime_error("Natural Instructions dir " + options.dir + " has no task with at least " +
                             std::to_string(std::max(2, options.min_instances)) + " usable instances");

  FederatedData data;
  for (const NiTask& task : held_out_tasks) data.eval.insert(data.eval.end(), task.eval.begin(), task.eval.end());
  data.clients = static_cast<size_t>(options.num_clients) <= tasks.size()
                     ? tasks_to_fewer_clients(tasks, options.num_clients, options.seed)
                     : tasks_split_over_clients(tasks, options.num_clients);
  for (const NiTask& task : tasks) data.eval.insert(data.eval.end(), task.eval.begin(), task.eval.end());
  if (data.eval.empty())
    throw std::runtime_error("Natural Instructions dir " + options.dir +
                             ": no eval instance (every eval task was dropped for having too few usable instances)");
  return data;
}

}  // namespace ferret
