#include "ferret/run.hpp"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iomanip>
#include <limits>
#include <optional>
#include <ostream>
#include <sstream>

#include "ferret/algorithm.hpp"
#include "ferret/client.hpp"
#include "ferret/compute_device.hpp"
#if FERRET_HAVE_NCCL
#include "ferret/nccl_comm.hpp"
#endif
#include "ferret/eval.hpp"
#include "ferret/fedkseed.hpp"
#include "ferret/flat_params.hpp"
#include "ferret/h5io.hpp"
#include "ferret/dolly_data.hpp"
#include "ferret/ni_data.hpp"
#include "ferret/sampling.hpp"
#include "ferret/server.hpp"
#include "ferret/signals.hpp"
#include "ferret/tasks.hpp"

namespace fs = std::filesystem;

namespace ferret {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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

struct OutputPaths {
  std::string dir, metrics, checkpoints, resume_from;  // resume_from: checkpoint file, or empty
};

OutputPaths output_paths(const Config& c) {
  OutputPaths p{c.out, (fs::path(c.out) / "metrics.h5").string(), (fs::path(c.out) / "checkpoints").string(), {}};
  if (c.resume == "auto") p.resume_from = latest_checkpoint(p.checkpoints);
  else p.resume_from = c.resume;
  return p;
}

// Decides what happens to --out: a fresh run needs it empty (or --overwrite, which removes only
// ferret's own outputs); a resumed run needs its metrics.h5 and the checkpoint. Returns an error
// message, or "" to go ahead.
std::string prepare_output_dir(const Config& c, const OutputPaths& p) {
  std::error_code ec;
  const bool exists = fs::exists(p.dir, ec);
  if (!c.resume.empty()) {
    if (c.resume == "auto" && p.resume_from.empty())
      return "--resume auto: no checkpoint round_NNNNNN.h5 in '" + p.checkpoints + "'";
    if (!fs::is_regular_file(p.resume_from, ec)) return "--resume: checkpoint '" + p.resume_from + "' does not exist";
    if (!fs::is_regular_file(p.metrics, ec)) return "--resume: '" + p.metrics + "' does not exist (wrong --out?)";
    return {};
  }
  if (exists && !fs::is_directory(p.dir, ec)) return "--out '" + p.dir + "' exists and is not a directory";
  if (exists && !fs::is_empty(p.dir, ec)) {
    if (!c.overwrite)
      return "--out '" + p.dir + "' is not empty: pass --overwrite to replace its run, or --resume auto to continue it";
    fs::remove(p.metrics, ec);
    fs::remove_all(p.checkpoints, ec);
    fs::remove(fs::path(p.dir) / "config.ini", ec);
  }
  fs::create_directories(p.checkpoints, ec);
  if (ec) return "--out: cannot create '" + p.checkpoints + "': " + ec.message();
  const fs::path probe = fs::path(p.checkpoints) / ".write-test";
  if (!std::ofstream(probe).put('x').flush()) return "--out: cannot write in '" + p.checkpoints + "'";
  fs::remove(probe, ec);
  return {};
}

// Refuses to start when --out cannot hold even one checkpoint (written beside the previous one,
// so two must fit); warns when the run's planned checkpoints will not all fit.
void check_free_space(const Config& c, const OutputPaths& p, size_t num_params, std::ostream& warn) {
  std::error_code ec;
  const auto space = fs::space(p.checkpoints, ec);
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
FederatedData load_data(const Config& c, const std::function<size_t(const Example&)>& count_tokens) {
  std::function<bool(const Example&)> keep;
  if (c.data.max_length > 0)
    keep = [&c, count_tokens](const Example& ex) { return count_tokens(ex) <= static_cast<size_t>(c.data.max_length); };
  if (c.data.source == "ni") {
    NiOptions o;
    o.dir = c.data.data_dir;
    o.num_clients = static_cast<int>(c.num_clients);
    o.seed = c.seed;
    o.eval_fraction = c.data.eval_fraction;
    o.max_instances_per_task = static_cast<int>(c.data.max_instances_per_task);
    o.instance_fraction = c.data.instance_fraction;
    o.eval_tasks = split_commas(c.data.eval_tasks);
    o.keep = keep;
    return load_natural_instructions(o);
  }
  if (c.data.source == "dolly") {
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

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000.0 && u < 4) b /= 1000.0, ++u;
  std::ostringstream os;
  os << std::fixed << std::setprecision(u == 0 ? 0 : 1) << b << " " << units[u];
  return os.str();
}

std::string clock_text(double s) {
  const auto t = static_cast<int64_t>(std::lround(s));
  std::ostringstream os;
  if (t >= 3600) os << t / 3600 << ":" << std::setw(2) << std::setfill('0') << (t / 60) % 60;
  else os << t / 60;
  os << ":" << std::setw(2) << std::setfill('0') << t % 60;
  return os.str();
}

Checkpoint make_checkpoint(const Config& c, const FlatParams& fp, const ServerOptimizer& server,
                           const Algorithm& algorithm, int64_t round) {
  Checkpoint ck;
  ck.round = round;
  ck.seed = c.seed;
  ck.algorithm = c.algorithm;
  ck.config = to_ini(c);
  const torch::Tensor host = fp.on_host();
  const float* data = host.data_ptr<float>();
  size_t offset = 0;
  for (size_t i = 0; i < fp.infos.size(); ++i) {
    const auto n = fp.infos[i].numel;
    ck.params.push_back({fp.infos[i].name, fp.shapes[i], std::vector<float>(data + offset, data + offset + n)});
    offset += n;
  }
  ck.server_momentum = server.momentum();
  ck.server_state_extra = algorithm.state();
  return ck;
}

void load_checkpoint_into(const Checkpoint& ck, const Config& c, FlatParams& fp, ServerOptimizer& server,
                          Algorithm& algorithm, const std::string& path) {
  if (ck.algorithm != c.algorithm)
    throw ConfigError("--resume: '" + path + "' is a " + ck.algorithm + " run, but --algorithm = " + c.algorithm);
  if (ck.seed != c.seed)
    throw ConfigError("--resume: '" + path + "' has seed " + std::to_string(ck.seed) + ", but --seed = " + std::to_string(c.seed));
  if (ck.params.size() != fp.infos.size())
    throw ConfigError("--resume: '" + path + "' holds " + std::to_string(ck.params.size()) + " parameters, the model has " +
                      std::to_string(fp.infos.size()) + " (different model options?)");
  torch::Tensor host = fp.flat.is_cpu() ? fp.flat : torch::empty_like(fp.flat, torch::kCPU);
  float* data = host.data_ptr<float>();
  size_t offset = 0;
  for (size_t i = 0; i < fp.infos.size(); ++i) {
    const auto& t = ck.params[i];
    if (t.name != fp.infos[i].name || t.data.size() != fp.infos[i].numel)
      throw ConfigError("--resume: '" + path + "' parameter '" + t.name + "' does not match the model's '" +
                        fp.infos[i].name + "' (different model options?)");
    std::copy(t.data.begin(), t.data.end(), data + offset);
    offset += t.data.size();
  }
  if (!fp.flat.is_cpu()) {
    torch::NoGradGuard no_grad;
    fp.flat.copy_(host);
  }
  server.set_momentum(ck.server_momentum);
  algorithm.set_state(ck.server_state_extra);
}

// Bytes a rank moved through both planes (they are separate objects only with --data-comm nccl).
Traffic traffic_of(const Comm& comm, const DataComm& data_comm) {
  Traffic t = comm.traffic();
  if (&data_comm != &comm) {
    const Traffic& d = data_comm.traffic();
    t.up += d.up, t.down += d.down, t.control += d.control;
  }
  return t;
}

// The NCCL data plane for --data-comm nccl, on each rank's current GPU (open_compute_device).
// NCCL needs a GPU of its own per rank: ranks sharing one are refused here, by name, rather than
// by ncclCommInitRank's less helpful "duplicate GPU".
std::unique_ptr<DataComm> open_device_comm(const Config& c, Comm& comm, const ComputeDevice& compute) {
  if (c.data_comm != "nccl") return nullptr;
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

// Every rank's checksum of its replica; any difference ends the job on all ranks.
void verify_replicas(Comm& comm, std::span<const float> params, int64_t round) {
  const auto differing = ranks_differing_from_root(comm.allgather(checksum_floats(params)));
  if (differing.empty()) return;
  std::string list;
  for (int r : differing) list += (list.empty() ? "" : ",") + std::to_string(r);
  throw std::runtime_error("replica drift after round " + std::to_string(round + 1) + ": rank(s) " + list +
                           " differ from rank 0");
}

// Why a client's update must not be aggregated ("" if it may): a non-finite training loss,
// non-finite entries (their squared norm `sq`, summed in double, is then not finite: finite floats
// cannot overflow it), or a norm above --max-update-norm (0 = no limit).
std::string rejection_reason(double sq, double loss, double max_norm) {
  if (!std::isfinite(loss)) return "training loss is " + std::to_string(loss);
  if (!std::isfinite(sq)) return "it holds NaN/Inf values";
  if (max_norm > 0.0 && std::sqrt(sq) > max_norm)
    return "norm " + std::to_string(std::sqrt(sq)) + " > --max-update-norm " + std::to_string(max_norm);
  return {};
}

// --inject-fault (testing aid): what a broken client would send.
void inject_fault(const std::string& kind, torch::Tensor& delta) {
  if (kind == "nan") delta.narrow(0, delta.size(0) / 2, 1).fill_(std::numeric_limits<float>::quiet_NaN());
  if (kind == "huge") delta.fill_(1e6f);
}

// x's memory as a span (host or device, as the tensor is).
std::span<float> span_of(torch::Tensor& x) { return {x.data_ptr<float>(), static_cast<size_t>(x.numel())}; }

// ‖x‖² in double, x in `space`'s memory.
double sq_norm(const ParamKernels& space, std::span<const float> x) {
  const Block all{"all", 0, x.size()};
  return space.block_sq_norms(std::span(&all, 1), x)[0];
}

struct RoundTimes {
  double local = 0, project = 0, comm = 0, reconstruct = 0, round = 0, wait = 0;
};

// Everything a rank holds for the run, built identically on every rank (rank 0 adds the
// evaluation sets and the metrics file).
struct RunState {
  ComputeDevice compute;  // first member: destroyed last, after the algorithm that uses its kernels
  std::unique_ptr<DataComm> device_comm;  // --data-comm nccl
  std::unique_ptr<Tokenizer> tokenizer;
  PromptTemplate prompt_template = PromptTemplate::alpaca;
  std::string model_description;
  FederatedData data;
  std::vector<std::vector<EncodedExample>> encoded;  // per client; filled for this rank's clients
  LlamaForCausalLM model{nullptr};
  FlatParams fp;
  std::unique_ptr<Algorithm> algorithm;
  std::unique_ptr<ServerOptimizer> server;
  int64_t start_round = 0;
  std::vector<EncodedExample> eval_encoded;  // rank 0
  std::vector<Example> rouge_examples;       // rank 0
  std::optional<MetricsWriter> metrics;      // rank 0
};

RunState build_state(const Config& c, const Comm& comm, const OutputPaths& paths, ComputeDevice compute) {
  RunState st;
  st.compute = std::move(compute);
  LoadedModel loaded = load_model(c);
  st.model = loaded.model;
  st.model->to(st.compute.device);
  st.tokenizer = std::move(loaded.tokenizer);
  st.model_description = loaded.description;
  st.prompt_template = parse_prompt_template(c.prompt_template);
  response_end_id(*st.tokenizer, st.prompt_template);  // fails now, naming the template, if it cannot be used
  const auto encode = [&](const Example& ex) {
    return encode_example(*st.tokenizer, ex, c.model.max_seq_len, st.prompt_template);
  };
  const auto count_tokens = [&](const Example& ex) {
    return encode_example(*st.tokenizer, ex, std::numeric_limits<int32_t>::max(), st.prompt_template).tokens.size();
  };
  st.data = load_data(c, count_tokens);
  st.encoded.resize(c.num_clients);
  for (int cl : clients_of_rank(comm.rank(), comm.size(), static_cast<int>(c.num_clients)))
    for (const auto& ex : st.data.clients[cl].train) st.encoded[cl].push_back(encode(ex));
  st.fp = flatten_parameters(*st.model);  // on the model's device
  st.algorithm = make_algorithm(c, st.fp.infos, *st.compute.kernels);
  Algorithm* algorithm = st.algorithm.get();
  st.server = std::make_unique<ServerOptimizer>(
      ServerOptions{c.server_lr, c.server_lr_schedule, c.server_lr_min, c.rounds, c.server_momentum, c.server_clip},
      algorithm->payload_size(), [algorithm](std::span<const float> s) { return algorithm->decoded_norm(s); });

  if (!paths.resume_from.empty()) {
    Checkpoint ck;
    try {
      ck = read_checkpoint(paths.resume_from);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("--resume: unreadable checkpoint: ") + e.what());
    }
    load_checkpoint_into(ck, c, st.fp, *st.server, *st.algorithm, paths.resume_from);
    st.start_round = ck.round;
  }

  if (comm.is_root()) {
    check_free_space(c, paths, st.fp.size(), std::cerr);
    for (const auto& ex : spread_subset(st.data.eval, c.eval_samples)) st.eval_encoded.push_back(encode(ex));
    st.rouge_examples = spread_subset(st.data.eval, c.rouge_samples);
    const RunAttributes attrs{c.algorithm,
                              c.algorithm != "fedavg" ? static_cast<int64_t>(algorithm->payload_size()) : 0,
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
    } else {
      st.metrics.emplace(MetricsWriter::resume(paths.metrics, attrs, st.start_round));
    }
  }
  return st;
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

}  // namespace

RunSummary run_federated(const Config& c, Comm& comm, std::ostream& log) {
  omp_set_num_threads(static_cast<int>(c.threads));
  torch::set_num_threads(static_cast<int>(c.threads));

  // The device first: a refusal (no GPU) must come before --overwrite clears the earlier run.
  ComputeDevice compute;
  std::unique_ptr<DataComm> device_comm;
  setup_everywhere(comm, [&] { compute = open_compute_device(c); });
  setup_everywhere(comm, [&] { device_comm = open_device_comm(c, comm, compute); });
  OutputPaths paths = output_paths(c);
  paths.resume_from = decide_on_root(comm, [&] { return Decision{prepare_output_dir(c, paths), paths.resume_from}; });
  RunState st;
  setup_everywhere(comm, [&] { st = build_state(c, comm, paths, std::move(compute)); });
  st.device_comm = std::move(device_comm);

  const int num_clients = static_cast<int>(c.num_clients);
  const size_t d = st.fp.size();
  Algorithm* algorithm = st.algorithm.get();
  const size_t payload = algorithm->payload_size();
  auto& model = st.model;
  auto& fp = st.fp;
  auto& server = *st.server;
  const ParamKernels& kernels = *st.compute.kernels;
  // The data plane of the round (the upload's sum, the step's broadcast): host buffers over MPI,
  // or with --data-comm nccl GPU buffers over NCCL (the algorithms were told: param_kernels.hpp).
  // The control plane (barriers, checksums, timings, strings) stays on comm.
  DataComm& data_comm = st.device_comm ? *st.device_comm : static_cast<DataComm&>(comm);
  auto& encoded = st.encoded;
  const int64_t start_round = st.start_round;

  RunSummary summary;
  summary.metrics_path = paths.metrics;
  if (comm.is_root()) {
    log << to_ini(c) << "# " << st.model_description << "\n# device: " << st.compute.description
        << "\n# ranks = " << comm.size() << ", trainable parameters d = " << d << ", blocks L = "
        << algorithm->blocks().size() << ", upload = " << payload << " floats + " << kUploadHeaderFloats * 4
        << " B header per sending rank\n";
    {
      PrecisionScope precision(c.dtype, st.compute.device);
      summary.initial_eval_loss = eval_loss(model, st.eval_encoded);
    }
    if (start_round == 0) {
      st.metrics->write_initial_eval_loss(summary.initial_eval_loss);
      log << "round 0/" << c.rounds << " | eval " << std::fixed << std::setprecision(4) << summary.initial_eval_loss;
      if (!st.rouge_examples.empty()) {  // the "before" of a pretrained model's Rouge-L
        PrecisionScope precision(c.dtype, st.compute.device);
        const double rouge = eval_rouge_l(model, *st.tokenizer, st.rouge_examples, c.max_new_tokens, st.prompt_template);
        st.metrics->write_initial_rouge_l(rouge);
        log << " | rougeL " << std::setprecision(3) << rouge;
      }
      log << "\n";
    } else {
      log << "resumed from " << paths.resume_from << " after round " << start_round << " | eval " << std::fixed
          << std::setprecision(4) << summary.initial_eval_loss << "\n";
    }
    log.flush();
  }

  const bool zeroth_order = algorithm->zeroth_order();
  // The round's vectors live where the model does: w_start, and for first order Δ and its sum (d
  // floats each, in the kernels' memory); zeroth order uploads host K-vectors instead.
  const auto param_options = fp.flat.options();
  const auto host_options = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor w_start = torch::empty({static_cast<int64_t>(d)}, param_options);
  const int64_t contribution_size = static_cast<int64_t>(zeroth_order ? payload : d);
  torch::Tensor contribution = torch::empty({contribution_size}, zeroth_order ? host_options : param_options);
  torch::Tensor contribution_sum = torch::empty({contribution_size}, zeroth_order ? host_options : param_options);
  const ParamKernels& contribution_space = zeroth_order ? host_param_kernels() : kernels;
  // The upload (payload, then the header of weight, loss, count, dropped) lives with the data plane.
  const auto payload_options = data_comm.device_buffers() ? param_options : host_options;
  torch::Tensor upload = torch::empty({static_cast<int64_t>(payload + kUploadHeaderFloats)}, payload_options);
  const auto run_start = Clock::now();
  for (int64_t r = start_round; r < c.rounds; ++r) {
    const auto round_start = Clock::now();
    const Traffic traffic_before = traffic_of(comm, data_comm);
    RoundTimes t;
    const auto round = static_cast<uint32_t>(r);
    const auto selected = sample_clients(c.seed, round, num_clients, c.participation);
    const auto senders = sender_ranks(selected, comm.size());
    algorithm->begin_round(round);

    // ---- local training of this rank's selected clients ----
    auto t0 = Clock::now();
    auto params = fp.span();
    {
      torch::NoGradGuard no_grad;
      w_start.copy_(fp.flat);
      contribution_sum.zero_();
    }
    std::vector<float> client_loss(num_clients, 0.0f);
    double weight_sum = 0.0, weighted_loss = 0.0, my_count = 0.0, my_dropped = 0.0;
    for (int cl : selected) {
      if (rank_of_client(cl, comm.size()) != comm.rank()) continue;
      {
        torch::NoGradGuard no_grad;
        fp.flat.copy_(w_start);
      }
      // A client's contribution: its update Δ = w_start − w_end (first order), or its K scalar
      // gradients (zeroth order), which is also what the sanity checks look at.
      double loss = 0.0;
      if (zeroth_order) {
        contribution.zero_();
        loss = train_client_zeroth_order(model, params, encoded[cl], c, round, static_cast<uint32_t>(cl),
                                         static_cast<const FedKSeedAlgorithm&>(*algorithm), span_of(contribution));
      } else {
        loss = train_client(model, encoded[cl], c, round, static_cast<uint32_t>(cl));
        torch::sub_out(contribution, w_start, fp.flat);
      }
      const double w = c.client_weighting == "equal" ? 1.0 : static_cast<double>(encoded[cl].size());
      client_loss[cl] = static_cast<float>(loss);
      if (c.inject_fault != "none" && cl == c.inject_fault_client) inject_fault(c.inject_fault, contribution);
      // Zeroth-order scalar gradients have no parameter-space norm to bound: only non-finite ones are refused.
      const double max_norm = zeroth_order ? 0.0 : c.max_update_norm;
      const double sq = sq_norm(contribution_space, span_of(contribution));
      if (const std::string why = rejection_reason(sq, loss, max_norm); !why.empty()) {
        std::cerr << "ferret: warning (rank " << comm.rank() << "): round " << r + 1 << ": client " << cl
                  << "'s update dropped: " << why << std::endl;
        my_dropped += 1.0;
        continue;
      }
      algorithm->observe_client_delta(span_of(contribution));
      contribution_sum.add_(contribution, static_cast<float>(w));
      weight_sum += w, weighted_loss += w * loss, my_count += 1.0;
    }
    {
      torch::NoGradGuard no_grad;
      fp.flat.copy_(w_start);  // back to the global model
    }
    t.local = seconds_since(t0);

    // Wait here for the slowest rank, so that the communication times below measure transfers, not
    // the imbalance of local training (which this separates out as time_wait).
    t0 = Clock::now();
    comm.barrier();
    t.wait = seconds_since(t0);

    // ---- encode and upload ----
    t0 = Clock::now();
    algorithm->agree(comm, senders);
    if (senders[comm.rank()]) t.comm += seconds_since(t0);  // elsewhere: only the wait for the senders' norms
    t0 = Clock::now();
    upload.zero_();
    torch::Tensor step_t = upload.narrow(0, 0, static_cast<int64_t>(payload));
    if (senders[comm.rank()]) algorithm->encode(span_of(contribution_sum), span_of(step_t));
    upload.narrow(0, static_cast<int64_t>(payload), kUploadHeaderFloats)
        .copy_(torch::tensor({static_cast<float>(weight_sum), static_cast<float>(weighted_loss),
                              static_cast<float>(my_count), static_cast<float>(my_dropped)}));
    t.project = seconds_since(t0);

    // A rank that uploads nothing would only time its wait for the senders' projection here.
    t0 = Clock::now();
    data_comm.reduce_sum_to_root(span_of(upload), senders);
    if (!senders[comm.rank()]) t0 = Clock::now();
    const torch::Tensor header = upload.narrow(0, static_cast<int64_t>(payload), kUploadHeaderFloats).to(torch::kCPU);
    const double total_weight = header[0].item<float>();
    const double train_loss = total_weight > 0.0 ? header[1].item<float>() / total_weight : std::nan("");
    const auto dropped = static_cast<int64_t>(header[3].item<float>());
    if (comm.is_root()) {
      if (total_weight > 0.0) {
        // The server optimizer works on the host: a device step (NCCL) visits it and comes back.
        torch::Tensor host_step = step_t.to(torch::kCPU);
        server.step(span_of(host_step), total_weight, r);
        if (!step_t.is_cpu()) step_t.copy_(host_step);
      } else {
        step_t.zero_();  // every update was dropped: the model stays
      }
    }
    data_comm.broadcast_from_root(span_of(step_t));
    t.comm += seconds_since(t0);

    // ---- every rank applies the same step ----
    t0 = Clock::now();
    algorithm->apply(span_of(step_t), params);
    t.reconstruct = seconds_since(t0);

    comm.reduce_sum_to_root_control(client_loss);
    if (c.verify_every > 0 && (r + 1) % c.verify_every == 0) {
      const torch::Tensor host = fp.on_host();
      verify_replicas(comm, {host.data_ptr<float>(), d}, r);
    }
    t.round = seconds_since(round_start);

    // ---- round statistics: times (max over ranks) and bytes (sum over ranks) ----
    const Traffic sent = traffic_of(comm, data_comm) - traffic_before;
    // The last entry carries a stop signal (SIGUSR1/SIGTERM) seen by any rank: all ranks stop
    // after the same round.
    std::vector<double> times{t.local, t.project, t.comm, t.reconstruct, t.round, t.wait, double(stop_requested())};
    std::vector<double> bytes{static_cast<double>(sent.up), static_cast<double>(sent.down),
                              static_cast<double>(sent.control)};
    comm.allreduce_control(times, Comm::Op::max);
    comm.allreduce_control(bytes, Comm::Op::sum);

    if (comm.is_root()) {
      RoundRecord rec;
      PrecisionScope precision(c.dtype, st.compute.device);
      const auto eval_start = Clock::now();
      rec.eval_loss = eval_loss(model, st.eval_encoded);
      rec.train_loss = train_loss;
      const bool rouge_round = (r + 1) % c.eval_every == 0 || r + 1 == c.rounds;
      rec.rouge_l = rouge_round && !st.rouge_examples.empty()
                        ? eval_rouge_l(model, *st.tokenizer, st.rouge_examples, c.max_new_tokens, st.prompt_template)
                        : std::numeric_limits<double>::quiet_NaN();
      rec.time_eval = seconds_since(eval_start);
      rec.bytes_up = static_cast<uint64_t>(bytes[0]);
      rec.bytes_down = static_cast<uint64_t>(bytes[1]);
      rec.bytes_control = static_cast<uint64_t>(bytes[2]);
      rec.participants = static_cast<int32_t>(selected.size());
      rec.senders = static_cast<int32_t>(std::count(senders.begin(), senders.end(), true));
      rec.time_local = times[0], rec.time_project = times[1], rec.time_comm = times[2];
      rec.time_reconstruct = times[3], rec.time_round = times[4], rec.time_wait = times[5];
      if (c.algorithm != "fedavg") {  // K floats: cheap to keep
        const torch::Tensor coefficients = step_t.to(torch::kCPU);
        rec.coefficients.assign(coefficients.data_ptr<float>(), coefficients.data_ptr<float>() + payload);
      }
      rec.client_train_loss.assign(num_clients, std::numeric_limits<float>::quiet_NaN());
      for (int cl : selected) rec.client_train_loss[cl] = client_loss[cl];
      rec.allocation = algorithm->allocation();
      st.metrics->append_round(rec);
      summary.final_eval_loss = rec.eval_loss;

      const double elapsed = seconds_since(run_start);
      const double eta = elapsed / static_cast<double>(r + 1 - start_round) * static_cast<double>(c.rounds - r - 1);
      log << "round " << r + 1 << "/" << c.rounds << " | eval " << std::fixed << std::setprecision(4) << rec.eval_loss
          << " | train " << train_loss;
      if (rouge_round && !st.rouge_examples.empty()) log << " | rougeL " << std::setprecision(3) << rec.rouge_l;
      if (dropped > 0) log << " | dropped " << dropped;
      log << " | up " << human_bytes(bytes[0]) << " down " << human_bytes(bytes[1]) << " | " << std::setprecision(2)
          << times[4] << " s | ETA " << clock_text(eta) << "\n";
      log.flush();

      const bool last = r + 1 == c.rounds || times[6] != 0.0;
      if (last || (c.checkpoint_every > 0 && (r + 1) % c.checkpoint_every == 0))
        write_checkpoint((fs::path(paths.checkpoints) / checkpoint_name(r + 1)).string(),
                         make_checkpoint(c, fp, server, *algorithm, r + 1));
    }
    summary.rounds_done = r + 1;
    if (times[6] != 0.0 && r + 1 < c.rounds) {
      summary.preempted = true;
      if (comm.is_root())
        log << "preempted by signal " << static_cast<int>(times[6]) << ": checkpointed after round " << r + 1 << "/"
            << c.rounds << "; continue with --resume auto\n";
      break;
    }
  }
  if (comm.is_root()) log << "metrics: " << fs::absolute(paths.metrics).string() << "\n";
  comm.barrier();  // the run is over for every rank only once rank 0's final checkpoint exists
  return summary;
}

}  // namespace ferret
