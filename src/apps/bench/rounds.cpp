// defines: the implementation of rounds.hpp
#include "rounds.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <numeric>
#include <sstream>

#include "config/config.hpp"
#include "io/metrics_file.hpp"
#include "federated/run.hpp"

namespace ferret::bench {
namespace {

double mean_after_first(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  const size_t first = v.size() > 1 ? 1 : 0;
  return std::accumulate(v.begin() + first, v.end(), 0.0) / static_cast<double>(v.size() - first);
}

template <class T>
std::vector<double> as_double(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

// A fresh directory name on rank 0, shared with every rank (run_federated creates it).
std::string temp_out_dir(Comm& comm) {
  std::string path;
  if (comm.is_root()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferret-bench.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary directory in " + tmpl);
    path = tmpl + "/run";
  }
  return comm.broadcast_string(path);
}

}  // namespace

RoundBreakdown time_rounds(const std::string& algorithm, const std::vector<std::string>& ferret_args, Comm& comm) {
  const std::string out = temp_out_dir(comm);
  std::vector<std::string> args{"ferret"};
  args.insert(args.end(), ferret_args.begin(), ferret_args.end());
  for (const std::string& a : {std::string("--algorithm"), algorithm, std::string("--out"), out,
                               std::string("--checkpoint-every"), std::string("0")})
    args.push_back(a);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  const ParseResult parsed = parse_config(static_cast<int>(argv.size()), argv.data());
  if (!parsed.config) throw ConfigError("ferret-bench: the round configuration printed help instead of running");
  std::ostringstream log;  // the run's progress lines are not the benchmark's output
  const RunSummary summary = run_federated(*parsed.config, comm, log);

  RoundBreakdown b;
  b.algorithm = algorithm;
  if (comm.is_root()) {
    const MetricsData m = read_metrics(summary.metrics_path);
    b.rounds = static_cast<int64_t>(m.train_loss.size());
    b.num_params = m.attrs.num_params, b.k = m.attrs.k, b.ranks = m.attrs.ranks;
    b.local = mean_after_first(m.time_local), b.project = mean_after_first(m.time_project);
    b.comm = mean_after_first(m.time_comm), b.reconstruct = mean_after_first(m.time_reconstruct);
    b.eval = mean_after_first(m.time_eval), b.round = mean_after_first(m.time_round);
    b.wait = mean_after_first(m.time_wait);
    b.bytes_up = mean_after_first(as_double(m.bytes_up)), b.bytes_down = mean_after_first(as_double(m.bytes_down));
    std::filesystem::remove_all(std::filesystem::path(out).parent_path());
  }
  return b;
}

}  // namespace ferret::bench
