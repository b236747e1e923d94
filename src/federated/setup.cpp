// defines: Setup of a run (setup.hpp): device, data plane, the lock on --out, model, data, algorithm,
//          resume, metrics.h5.
#include "federated/setup.hpp"

#include <omp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#if FERRET_HAVE_NCCL
#include "comm/nccl_comm.hpp"
#endif
#include "data/dolly.hpp"
#include "data/embedded_tasks.hpp"
#include "data/natural_instructions.hpp"
#include "federated/checkpointing.hpp"
#include "federated/sampling.hpp"

namespace fs = std::filesystem;

namespace ferret {
namespace {

// Rank 0 runs `decide` (filesystem decisions must be made once, and a path such as the newest
// checkpoint must be the same on every rank); every rank gets its answer, and a refusal ends all
// ranks the same way instead of leaving some waiting in a collective.
struct Decision {
  std::string error;   // empty: go ahead
  std::string value;   // what was decided
};
std::string decide_on_root(Comm& comm, const std::function<Decision()>& decide) {
  Decision d = comm.is_root() ? decide() : Decision{};
  const std::string error = comm.broadcast_string(d.error);
  if (!error.empty()) throw ConfigError(error);
  return comm.broadcast_string(d.value);
}

OutputPaths output_paths(const Config& c) {
  return {c.out, (fs::path(c.out) / "metrics.h5").string(), (fs::path(c.out) / "checkpoints").string(), {}};
}

// Rank 0, holding the lock on --out: can this run use it? A fresh run needs it empty (or
// --overwrite); a resumed run needs its metrics.h5 and the checkpoint (the newest for --resume
// auto, set in p.resume_from). Changes nothing; returns an error message, or "" to go ahead.
std::string check_output_dir(const Config& c, OutputPaths& p) {
  std::error_code ec;
  if (!c.resume.empty()) {
    p.resume_from = c.resume == "auto" ? latest_checkpoint(p.checkpoints) : c.resume;
    if (c.resume == "auto" && p.resume_from.empty())
      return "--resume auto: no checkpoint round_NNNNNN.h5 in '" + p.checkpoints + "'";
    if (!fs::is_regular_file(p.resume_from, ec)) return "--resume: checkpoint '" + p.resume_from + "' does not exist";
    if (!fs::is_regular_file(p.metrics, ec)) return "--resume: '" + p.metrics + "' does not exist (wrong --out?)";
    return {};
  }
  if (!holds_only_lock(p.dir) && !c.overwrite)
    return "--out '" + p.dir + "' is not empty: pass --overwrite to replace its run, or --resume auto to continue it";
  if (fs::exists(p.checkpoints, ec) && ::access(p.checkpoints.c_str(), W_OK) != 0)
    return "--out: cannot write in '" + p.checkpoints + "'";
  return {};
}

// Rank 0, once every input has been validated: --overwrite removes the earlier run's outputs (only
// ferret's own files), checkpoints/ is made, and temporaries of a dead writer are removed.
void commit_output_dir(const Config& c, const OutputPaths& p, std::ostream& log) {
  std::error_code ec;
  if (c.overwrite) {
    fs::remove(p.metrics, ec);
    fs::remove_all(p.checkpoints, ec);
    fs::remove(fs::path(p.dir) / "config.ini", ec);
  }
  fs::create_directories(p.checkpoints, ec);
  if (ec) throw ConfigError("--out: cannot create '" + p.checkpoints + "': " + ec.message());
  const fs::path probe = fs::path(p.checkpoints) / ".write-test";
  if (!std::ofstream(probe).put('x').flush()) throw ConfigError("--out: cannot write in '" + p.checkpoints + "'");
  fs::remove(probe, ec);
  for (const std::string& line : remove_stale_temporaries(p.checkpoints)) log << "ferret: " << line << "\n";
}

// Refuses to start when --out cannot hold even one checkpoint (written beside the previous one,
// so two must fit); warns when the run's planned checkpoints will not all fit.
void check_free_space(const Config& c, const OutputPaths& p, size_t num_params, std::ostream& warn) {
  std::error_code ec;
  const auto space = fs::space(p.dir, ec);
  if (ec) return;  // unknown: the writes themselves will report
  const double one = 4.0 * static_cast<double>(num_params) + (1 << 20);
  const double count = (c.checkpoint_every > 0 ? static_cast<double>(c.rounds / c.checkpoint_every) : 0.0) + 1.0;
  const double free_bytes = static_cast<double>(space.available);
  auto mb = [](double b) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(1) << b / 1e6 << " MB";
    return os.str();
  };
  if (free_bytes < 2.0 * one)
    throw ConfigError("--out '" + p.dir + "': " + mb(free_bytes) + " free, but a checkpoint needs " + mb(one) +
                      " (and the previous one stays until the new one is verified)");
  if (free_bytes < count * one)
    warn << "ferret: warning: --out has " << mb(free_bytes) << " free; " << count << " checkpoints need " << mb(count * one)
         << " (raise --checkpoint-every or free space)\n";
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
  }
  return out;
}

// `count_tokens` gives an example's untruncated length; --max-length drops the longer ones (the
// paper's filter) instead of letting encode_example cut them.
// `warn`: rank 0 says what the data loader skipped (every rank loads the same data).
FederatedData load_data(const Config& c, const std::function<size_t(const Example&)>& count_tokens, bool warn) {
  std::function<bool(const Example&)> keep;
  if (c.data.max_length > 0)
    keep = [&c, count_tokens](const Example& ex) { return count_tokens(ex) <= static_cast<size_t>(c.data.max_length); };
  if (c.data.source == DataSource::ni) {
    NiOptions o;
    o.dir = c.data.data_dir;
    o.num_clients = static_cast<int>(c.num_clients);
    o.seed = c.seed;
    o.eval_fraction = c.data.eval_fraction;
    o.max_instances_per_task = static_cast<int>(c.data.max_instances_per_task);
    o.instance_fraction = c.data.instance_fraction;
    o.eval_tasks = split_commas(c.data.eval_tasks);
    o.keep = keep;
    if (warn) o.warn = [](const std::string& line) { std::cerr << "ferret: warning: " << line << "\n"; };
    return load_natural_instructions(o);
  }
  if (c.data.source == DataSource::dolly) {
    DollyOptions o;
    o.file = c.data.data_file;
    o.num_clients = static_cast<int>(c.num_clients);
    o.seed = c.seed;
    o.dirichlet_alpha = c.data.dirichlet_alpha;
    o.min_per_client = static_cast<int>(c.data.min_per_client);
    o.eval_category = c.data.eval_category;
    o.keep = keep;
    return load_dolly(o);
  }
  return make_embedded_data(static_cast<int>(c.num_clients), c.seed, static_cast<int>(c.data.train_per_client),
                            static_cast<int>(c.data.eval_per_task));
}

// `count` evenly spaced items, so a task-ordered eval set is covered across tasks.
template <class T>
std::vector<T> spread_subset(const std::vector<T>& all, int64_t count) {
  const size_t n = all.size(), m = std::min<size_t>(n, static_cast<size_t>(count));
  std::vector<T> out;
  for (size_t i = 0; i < m; ++i) out.push_back(all[i * n / m]);
  return out;
}

// The NCCL data plane for --data-comm nccl, on each rank's current GPU (open_compute_device).
// NCCL needs a GPU of its own per rank: ranks sharing one are refused here, by name, rather than
// by ncclCommInitRank's less helpful "duplicate GPU".
std::unique_ptr<DataComm> open_device_comm(const Config& c, Comm& comm, const ComputeDevice& compute) {
  if (c.data_comm != DataPlane::nccl) return nullptr;
  const auto gpus = comm.allgather(std::hash<std::string>{}(compute.gpu_identity));
  for (size_t a = 0; a < gpus.size(); ++a)
    for (size_t b = a + 1; b < gpus.size(); ++b)
      if (gpus[a] == gpus[b])
        throw ConfigError("--data-comm = nccl needs a GPU per rank, but ranks " + std::to_string(a) + " and " +
                          std::to_string(b) + " share one (more ranks than GPUs on a node); allowed there: mpi");
#if FERRET_HAVE_NCCL
  return std::make_unique<NcclComm>(MPI_COMM_WORLD);
#else
  throw ConfigError("--data-comm = nccl: this ferret was built without NCCL (nccl.h not found when CMake ran); "
                    "allowed: mpi");
#endif
}

// Runs `setup` on every rank. If it fails anywhere, every rank throws a ConfigError carrying the
// first failing rank's message, so a bad input (a corrupt checkpoint, a data file, a model that
// does not fit the options) ends the whole job with one line instead of a hang in a collective.
template <class F>
void setup_everywhere(Comm& comm, F&& setup) {
  std::string error;
  try {
    setup();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "setup failed";
  }
  const auto failed = comm.allgather(error.empty() ? 0 : 1);
  for (int r = 0; r < comm.size(); ++r) {
    if (!failed[r]) continue;
    const std::string message = comm.broadcast_string(error, r);
    throw ConfigError(r == 0 ? message : message + " (on rank " + std::to_string(r) + ")");
  }
}

// Rank 0's evaluation sets and the free-space check: still nothing written.
template <class Encode>
void prepare_root_outputs(const Config& c, const OutputPaths& paths, const Encode& encode, RunState& st) {
  check_free_space(c, paths, st.fp.size(), std::cerr);
  for (const auto& ex : spread_subset(st.data.eval, c.eval_samples)) st.eval_encoded.push_back(encode(ex));
  st.rouge_examples = spread_subset(st.data.eval, c.rouge_samples);
}

// Rank 0, after every check passed: --out prepared, config.ini, metrics.h5 created or reopened
// (with the options this resume changed recorded from its first round on).
void open_root_outputs(const Config& c, const Comm& comm, const OutputPaths& paths, RunState& st) {
  commit_output_dir(c, paths, std::cout);
  const Algorithm* algorithm = st.algorithm.get();
  const RunAttributes attrs{std::string(name_of(c.algorithm)),
                            c.algorithm != AlgorithmKind::fedavg ? static_cast<int64_t>(algorithm->payload_size()) : 0,
                            c.num_clients,
                            comm.size(),
                            c.rounds,
                            static_cast<int64_t>(c.seed),
                            static_cast<int64_t>(st.fp.size()),
                            static_cast<int64_t>(algorithm->blocks().size()),
                            to_ini(c),
                            FERRET_VERSION};
  if (st.start_round == 0) {
    std::ofstream(fs::path(c.out) / "config.ini") << to_ini(c);
    st.metrics.emplace(MetricsWriter::create(paths.metrics, attrs));
    return;
  }
  const bool changed = !st.resume_changes.empty();
  if (changed)
    std::cout << "ferret: resuming after round " << st.start_round << " with " << describe_changes(st.resume_changes)
              << " (recorded in metrics.h5 /config_history from round " << st.start_round + 1 << ")\n";
  st.metrics.emplace(MetricsWriter::resume(paths.metrics, attrs, st.start_round, changed));
}

RunState build_state(const Config& c, const Comm& comm, const OutputPaths& paths, ComputeDevice compute) {
  RunState st;
  st.compute = std::move(compute);
  LoadedModel loaded = load_model(c);
  st.model = loaded.model;
  st.model->to(st.compute.device);
  st.tokenizer = std::move(loaded.tokenizer);
  st.model_description = loaded.description;
  st.prompt_template = c.prompt_template;
  response_end_id(*st.tokenizer, st.prompt_template);  // fails now, naming the template, if it cannot be used
  const auto encode = [&](const Example& ex) {
    return encode_example(*st.tokenizer, ex, c.model.max_seq_len, st.prompt_template);
  };
  const auto count_tokens = [&](const Example& ex) {
    return encode_example(*st.tokenizer, ex, std::numeric_limits<int32_t>::max(), st.prompt_template).tokens.size();
  };
  st.data = load_data(c, count_tokens, comm.is_root());
  st.encoded.resize(c.num_clients);
  for (int cl : clients_of_rank(comm.rank(), comm.size(), static_cast<int>(c.num_clients)))
    for (const auto& ex : st.data.clients[cl].train) st.encoded[cl].push_back(encode(ex));
  st.fp = flatten_parameters(*st.model);  // on the model's device
  st.algorithm = make_algorithm(c, st.fp.infos, *st.compute.kernels);
  Algorithm* algorithm = st.algorithm.get();
  st.server = std::make_unique<ServerOptimizer>(
      ServerOptions{c.server_lr, c.server_lr_schedule, c.server_lr_min, c.rounds, c.server_momentum, c.server_clip},
      algorithm->payload_size(), [algorithm](std::span<const float> s) { return algorithm->decoded_norm(s); });

  st.privacy = std::make_unique<ClientPrivacy>(c);
  if (!paths.resume_from.empty()) resume_from_checkpoint(paths.resume_from, c, st);
  if (st.start_round < c.rounds && st.privacy->next_round_exceeds_target()) {  // before anything is written
    std::ostringstream msg;
    msg << "--dp-target-epsilon = " << c.dp_target_epsilon << ": round " << st.start_round + 1 << " would take epsilon to "
        << st.privacy->epsilon_after_next_round()
        << " (allowed: a larger target, more noise or a lower --participation)";
    throw ConfigError(msg.str());
  }
  if (comm.is_root()) prepare_root_outputs(c, paths, encode, st);
  return st;
}

}  // namespace

RunState setup_run(const Config& c, Comm& comm) {
  omp_set_num_threads(static_cast<int>(c.threads));
  torch::set_num_threads(static_cast<int>(c.threads));
  // The device first: a refusal (no GPU) must come before --overwrite clears the earlier run.
  ComputeDevice compute;
  std::unique_ptr<DataComm> device_comm;
  setup_everywhere(comm, [&] { compute = open_compute_device(c); });
  setup_everywhere(comm, [&] { device_comm = open_device_comm(c, comm, compute); });
  // Rank 0 locks --out for the whole run, then checks it; a refusal anywhere below releases the
  // lock and leaves --out as it was (RunLock removes a directory it made and nothing else).
  OutputPaths paths = output_paths(c);
  std::optional<RunLock> lock;
  paths.resume_from = decide_on_root(comm, [&] {
    try {
      lock.emplace(RunLock::acquire(c.out));
    } catch (const std::exception& e) {
      return Decision{e.what(), {}};
    }
    const std::string error = check_output_dir(c, paths);
    return Decision{error, paths.resume_from};
  });
  RunState st;
  setup_everywhere(comm, [&] { st = build_state(c, comm, paths, std::move(compute)); });
  if (c.secure_aggregation)  // collective: every rank's public key to every rank
    st.secure = std::make_unique<SecureAggregator>(c, comm, st.algorithm->payload_size(), kUploadHeaderFloats);
  setup_everywhere(comm, [&] {
    if (comm.is_root()) open_root_outputs(c, comm, paths, st);
  });
  st.out_lock = std::move(lock);
  st.device_comm = std::move(device_comm);
  st.paths = paths;
  return st;
}

DataComm& data_plane(RunState& st, Comm& comm) {
  return st.device_comm ? *st.device_comm : static_cast<DataComm&>(comm);
}

}  // namespace ferret
