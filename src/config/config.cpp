// defines: the implementation of config.hpp
#include "config/config.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace ferret {
namespace {

// Every option once: name, the Config field it fills, help text. Both the Boost description
// (parsing, --help) and to_ini() walk this list, so they cannot disagree.
template <class F>
void for_each_option(Config& c, F&& f) {
  f("out", c.out, "output directory (metrics.h5, checkpoints/)");
  f("overwrite", c.overwrite, "replace the contents of a non-empty --out");
  f("resume", c.resume, "continue a run: 'auto' (newest checkpoint in --out) or a checkpoint path");
  f("algorithm", c.algorithm, "ferret | fedavg | fedkseed");
  f("rounds", c.rounds, "federated rounds R");
  f("num-clients", c.num_clients, "federated clients N (may exceed the number of ranks)");
  f("participation", c.participation, "fraction of the N clients sampled each round, in (0, 1]");
  f("client-weighting", c.client_weighting, "samples (weight by training examples) | equal");
  f("local-steps", c.local_steps, "optimizer steps T per client per round");
  f("lr", c.lr, "local learning rate");
  f("optimizer", c.optimizer, "local optimizer: sgd | adamw");
  f("weight-decay", c.weight_decay, "local weight decay");
  f("batch-size", c.batch_size, "examples per micro-batch");
  f("grad-accum", c.grad_accum, "micro-batches per optimizer step");
  f("grad-clip", c.grad_clip, "max gradient norm per local step (0 = off)");
  f("max-update-norm", c.max_update_norm, "drop a client update whose norm exceeds this, or that is NaN/Inf (0 = no limit)");
  f("inject-fault", c.inject_fault, "testing aid: none | nan | huge — corrupt the update of --inject-fault-client");
  f("inject-fault-client", c.inject_fault_client, "testing aid: the client whose update --inject-fault corrupts");
  f("k", c.k, "Ferret: coefficients per round, summed over blocks; FedKSeed: candidate seeds (paper: 4096)");
  f("basis", c.basis, "random basis: rademacher | gaussian | truncnormal");
  f("allocation", c.allocation, "split of K over blocks: uniform | size | norm");
  f("zo-eps", c.zo_eps, "FedKSeed: perturbation epsilon of the two-point gradient estimate (paper: 5e-4)");
  f("fedkseed-pro", c.fedkseed_pro, "FedKSeed-Pro: draw seeds by the history of their gradients, not uniformly");
  f("server-lr", c.server_lr, "server learning rate applied to the aggregated update");
  f("server-lr-schedule", c.server_lr_schedule, "constant | linear | cosine (from server-lr to server-lr-min)");
  f("server-lr-min", c.server_lr_min, "final server learning rate of linear/cosine schedules");
  f("server-momentum", c.server_momentum, "heavy-ball momentum of the server update, in [0, 1)");
  f("server-clip", c.server_clip, "max norm of the applied update (0 = off)");
  f("dp-clip", c.dp_clip, "client-level DP: clip each client's upload to this L2 norm C (0 = no DP); clients are "
                          "then sampled secretly with probability --participation and weighted equally");
  f("dp-noise-multiplier", c.dp_noise_multiplier, "client-level DP: Gaussian noise of standard deviation z·C on the "
                                                  "sum of the uploads (0 = clipping only, epsilon = inf)");
  f("dp-delta", c.dp_delta, "client-level DP: the delta of the reported (epsilon, delta)");
  f("dp-target-epsilon", c.dp_target_epsilon, "client-level DP: stop before a round that would exceed this "
                                              "epsilon (0 = no limit)");
  f("secure-aggregation", c.secure_aggregation, "mask every upload (X25519 pair keys, ChaCha20 masks, uint64 fixed "
                                                "point) so that rank 0 learns only the sum; needs --dp-clip");
  f("seed", c.seed, "run seed: data, sampling, model init and every random basis");
  f("eval-every", c.eval_every, "Rouge-L every N rounds and at the end (eval loss: every round)");
  f("eval-samples", c.eval_samples, "held-out instances for the eval loss");
  f("rouge-samples", c.rouge_samples, "held-out instances generated for Rouge-L");
  f("max-new-tokens", c.max_new_tokens, "generation length for Rouge-L");
  f("checkpoint-every", c.checkpoint_every, "checkpoint every N rounds, and at the end (0 = end only)");
  f("verify-every", c.verify_every, "compare replica checksums every N rounds (0 = off)");
  f("threads", c.threads, "LibTorch/OpenMP threads per rank");
  f("device", c.device, "cpu | cuda (one GPU per rank, picked by the node-local rank; Ferret and FedAvg)");
  f("data-comm", c.data_comm, "mpi | nccl: the upload's reduce and the step's broadcast on host buffers over MPI, or "
                              "on GPU buffers over NCCL (--device cuda, a GPU per rank)");
  f("model-dir", c.model_dir, "pretrained model: Hugging Face folder (config.json, *.safetensors, tokenizer.json) "
                              "or a .gguf file; empty = the embedded byte-level model built from the options below");
  f("dtype", c.dtype, "fp32 | bf16 (bf16 matmuls/activations under autocast; master weights and projection fp32)");
  f("prompt-template", c.prompt_template, "alpaca | chat (the model's chat format: ChatML or LLaMA-3)");
  f("data", c.data.source, "embedded | ni | dolly");
  f("data-dir", c.data.data_dir, "Natural Instructions tasks folder (data = ni)");
  f("data-file", c.data.data_file, "Dolly-15K JSONL file (data = dolly)");
  f("train-per-client", c.data.train_per_client, "embedded data: training examples per client");
  f("eval-per-task", c.data.eval_per_task, "embedded data: held-out instances per task family");
  f("eval-fraction", c.data.eval_fraction, "ni data: held-out share of each task");
  f("max-instances-per-task", c.data.max_instances_per_task, "ni data: cap per task (0 = all)");
  f("instance-fraction", c.data.instance_fraction, "ni data: random share of each task's instances kept (paper: 0.2)");
  f("eval-tasks", c.data.eval_tasks, "ni data: comma-separated task names held out of training for evaluation");
  f("max-length", c.data.max_length, "ni/dolly data: drop examples longer than this many tokens (0 = keep, truncated "
                                     "to max-seq-len)");
  f("dirichlet-alpha", c.data.dirichlet_alpha, "dolly data: Dirichlet label-skew concentration (paper: 0.5)");
  f("min-per-client", c.data.min_per_client, "dolly data: minimum examples per client");
  f("eval-category", c.data.eval_category, "dolly data: category held out for evaluation");
  f("hidden-size", c.model.hidden_size, "model width");
  f("layers", c.model.num_layers, "decoder layers");
  f("heads", c.model.num_heads, "attention heads");
  f("kv-heads", c.model.num_kv_heads, "key/value heads (grouped-query attention when < heads)");
  f("intermediate-size", c.model.intermediate_size, "SwiGLU MLP width");
  f("tie-embeddings", c.model.tie_embeddings, "share the input embedding and the output head");
  f("rope-theta", c.model.rope_theta, "RoPE base");
  f("max-seq-len", c.model.max_seq_len, "longest sequence in tokens");
}

std::string format_value(const std::string& v) { return v; }
std::string format_value(bool v) { return v ? "true" : "false"; }
// The shortest text that reads back as the same double, as a person writes it: 0.1 (not
// 0.10000000000000001), 0.0005 (not 5e-04), 1e-12, 1e+30 -> 1e30.
std::string format_value(double v) {
  char buf[400];
  std::string shortest(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  if (shortest.find('e') == std::string::npos) return shortest;
  const std::string fixed(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed).ptr);
  if (fixed.size() <= 10) return fixed;
  const auto e = shortest.find('e');
  std::string exponent = shortest.substr(e + 1);
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return shortest.substr(0, e + 1) + (negative ? "-" : "") + (exponent.empty() ? "0" : exponent);
}
template <class T>
std::string format_value(T v) {
  if constexpr (std::is_enum_v<T>) return std::string(name_of(v));
  else return std::to_string(v);
}

po::options_description describe_options(Config& c) {
  po::options_description desc("ferret options (CLI overrides --config FILE; INI keys = option names)");
  desc.add_options()("help,h", "print this help")("version", "print the version")(
      "config", po::value(&c.config_file), "INI file with any of the options below");
  for_each_option(c, [&desc](const char* name, auto& field, const char* help) {
    using T = std::remove_reference_t<decltype(field)>;
    if constexpr (std::is_same_v<T, bool>) {
      desc.add_options()(name, po::value(&field)->default_value(field, format_value(field))->implicit_value(true, "true"), help);
    } else if constexpr (std::is_enum_v<T>) {  // parsed as text, stored as the enum (Choices<T>)
      desc.add_options()(name, po::value<std::string>()
                                   ->default_value(std::string(name_of(field)))
                                   ->notifier([&field, name](const std::string& text) { field = parse_choice<T>(name, text); }),
                         help);
    } else if constexpr (std::is_same_v<T, std::string>) {
      desc.add_options()(name, po::value(&field)->default_value(field, field.empty() ? "\"\"" : field), help);
    } else {
      desc.add_options()(name, po::value(&field)->default_value(field, format_value(field)), help);
    }
  });
  return desc;
}

[[noreturn]] void fail(const std::string& what) { throw ConfigError(what); }

constexpr int64_t kMaxClients = 1'000'000;             // the paper's largest federation has 738
constexpr double kMaxLearningRate = 1e4;
constexpr int64_t kMaxEmbeddedExamples = 10'000'000;   // embedded data generated in memory on every rank

template <class T>
void require(bool ok, const char* option, const T& value, const std::string& allowed) {
  if (!ok) {
    std::ostringstream os;
    os << "--" << option << " = " << format_value(value) << " is invalid: allowed " << allowed;
    fail(os.str());
  }
}


// A message quoting the user's bytes (a binary --config, a mistyped option) printed as text: control
// and non-ASCII bytes become \xNN, so the one error line stays one readable line.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char ch : text) {
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

// The embedded model's shape (a pretrained model's comes from its files, model/weights.cpp).
void validate_model(const ModelConfig& m) {
  require(m.hidden_size >= 8, "hidden-size", m.hidden_size, ">= 8");
  require(m.num_layers >= 1, "layers", m.num_layers, ">= 1");
  require(m.num_heads >= 1 && m.hidden_size % m.num_heads == 0, "heads", m.num_heads,
          "a divisor of hidden-size = " + std::to_string(m.hidden_size));
  require((m.hidden_size / std::max<int64_t>(m.num_heads, 1)) % 2 == 0, "heads", m.num_heads,
          "a value giving an even head size (RoPE rotates pairs)");
  require(m.num_kv_heads >= 1 && m.num_heads % m.num_kv_heads == 0, "kv-heads", m.num_kv_heads,
          "a divisor of heads = " + std::to_string(m.num_heads));
  require(m.intermediate_size >= 1, "intermediate-size", m.intermediate_size, ">= 1");
  require(m.rope_theta > 0.0, "rope-theta", m.rope_theta, "> 0");
  require(m.max_seq_len >= 16, "max-seq-len", m.max_seq_len, ">= 16");
}

// Client-level DP: every option needs a clip, and what the sensitivity argument rests on must hold:
// a data-independent split of K (norm allocation reads the clients' updates) and host payloads.
void validate_privacy(const Config& c) {
  require(std::isfinite(c.dp_clip) && c.dp_clip >= 0.0, "dp-clip", c.dp_clip, ">= 0 (0 = no DP)");
  require(std::isfinite(c.dp_noise_multiplier) && c.dp_noise_multiplier >= 0.0, "dp-noise-multiplier",
          c.dp_noise_multiplier, ">= 0");
  require(std::isfinite(c.dp_target_epsilon) && c.dp_target_epsilon >= 0.0, "dp-target-epsilon", c.dp_target_epsilon,
          ">= 0 (0 = no limit)");
  require(c.dp_delta > 0.0 && c.dp_delta < 1.0, "dp-delta", c.dp_delta, "(0, 1)");
  require(!(c.secure_aggregation && c.dp_clip == 0.0), "secure-aggregation", c.secure_aggregation,
          "false without --dp-clip (the clip bounds every upload, so the fixed-point sum cannot wrap)");
  require(!(c.secure_aggregation && c.algorithm == AlgorithmKind::fedavg), "secure-aggregation", c.secure_aggregation,
          "false with --algorithm fedavg (its d-vectors would travel as 8·d bytes a sender; use ferret or fedkseed)");
  if (c.dp_clip == 0.0) {
    require(c.dp_noise_multiplier == 0.0 && c.dp_target_epsilon == 0.0, "dp-clip", c.dp_clip,
            "> 0 with --dp-noise-multiplier or --dp-target-epsilon (the noise is scaled to the clip)");
    return;
  }
  require(!(c.algorithm == AlgorithmKind::ferret && c.allocation == Allocation::norm), "allocation", c.allocation,
          "uniform | size with --dp-clip (norm allocation is computed from the clients' updates)");
  require(c.data_comm == DataPlane::mpi, "data-comm", c.data_comm, "mpi with --dp-clip");
  require(!(c.dp_target_epsilon > 0.0 && c.dp_noise_multiplier == 0.0), "dp-target-epsilon", c.dp_target_epsilon,
          "0 with --dp-noise-multiplier 0 (without noise epsilon is infinite)");
}

}  // namespace

ParseResult parse_config(int argc, const char* const* argv) {
  Config c;
  po::options_description desc = describe_options(c);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::ostringstream os;
      os << "usage: ferret [--config FILE] [options]\n\n" << desc;
      return {std::nullopt, os.str()};
    }
    if (vm.count("version")) return {std::nullopt, std::string("ferret ") + FERRET_VERSION + "\n"};
    if (vm.count("config")) {
      const auto path = vm["config"].as<std::string>();
      if (std::filesystem::is_directory(path))
        fail("--config: '" + path + "' is a directory (allowed: an INI file of options)");
      std::ifstream in(path);
      if (!in) fail("--config: cannot read '" + path + "' (no such file or not readable)");
      // Values already stored from the CLI win: po::store keeps the first value it sees.
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    fail(printable(e.what()) + " (see --help)");
  }
  validate_config(c);
  return {c, {}};
}

Config config_from_ini(const std::string& text) {
  Config c;
  po::options_description desc = describe_options(c);
  po::variables_map vm;
  try {
    std::istringstream in(text);
    po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fail("stored configuration: " + printable(e.what()));
  }
  validate_config(c);
  return c;
}

void validate_config(const Config& c) {
  require(!c.out.empty(), "out", c.out, "a directory path");
  require(std::isfinite(c.zo_eps) && c.zo_eps > 0.0, "zo-eps", c.zo_eps, "> 0");
  require(c.rounds >= 1, "rounds", c.rounds, ">= 1");
  // Bounds on sizes that allocate per client: a typo must be refused, not end in the OOM killer.
  require(c.num_clients >= 1 && c.num_clients <= kMaxClients, "num-clients", c.num_clients,
          "1 .. " + std::to_string(kMaxClients));
  require(c.participation > 0.0 && c.participation <= 1.0, "participation", c.participation, "(0, 1]");
  require(c.local_steps >= 1, "local-steps", c.local_steps, ">= 1");
  // A learning rate past 1e4 is a typo, and past FLT_MAX LibTorch's optimizers cannot even hold it.
  require(std::isfinite(c.lr) && c.lr > 0.0 && c.lr <= kMaxLearningRate, "lr", c.lr, "(0, 1e4]");
  require(std::isfinite(c.weight_decay) && c.weight_decay >= 0.0, "weight-decay", c.weight_decay, ">= 0");
  require(c.batch_size >= 1, "batch-size", c.batch_size, ">= 1");
  require(c.grad_accum >= 1, "grad-accum", c.grad_accum, ">= 1");
  require(std::isfinite(c.grad_clip) && c.grad_clip >= 0.0, "grad-clip", c.grad_clip, ">= 0 (0 = off)");
  require(std::isfinite(c.max_update_norm) && c.max_update_norm >= 0.0, "max-update-norm", c.max_update_norm,
          ">= 0 (0 = no limit)");
  require(c.inject_fault_client >= 0 && c.inject_fault_client < c.num_clients, "inject-fault-client",
          c.inject_fault_client, "0 .. num-clients - 1");
  require(c.k >= 1 && c.k <= (int64_t{1} << 30), "k", c.k, "1 .. 2^30");
  require(std::isfinite(c.server_lr) && c.server_lr > 0.0 && c.server_lr <= kMaxLearningRate, "server-lr", c.server_lr,
          "(0, 1e4]");
  require(std::isfinite(c.server_lr_min) && c.server_lr_min >= 0.0 && c.server_lr_min <= c.server_lr,
          "server-lr-min", c.server_lr_min, "0 .. server-lr");
  require(c.server_momentum >= 0.0 && c.server_momentum < 1.0, "server-momentum", c.server_momentum, "[0, 1)");
  require(std::isfinite(c.server_clip) && c.server_clip >= 0.0, "server-clip", c.server_clip, ">= 0 (0 = off)");
  require(c.eval_every >= 1, "eval-every", c.eval_every, ">= 1");
  require(c.eval_samples >= 1, "eval-samples", c.eval_samples, ">= 1");
  require(c.rouge_samples >= 0, "rouge-samples", c.rouge_samples, ">= 0");
  require(c.max_new_tokens >= 1, "max-new-tokens", c.max_new_tokens, ">= 1");
  require(c.checkpoint_every >= 0, "checkpoint-every", c.checkpoint_every, ">= 0 (0 = end only)");
  require(c.verify_every >= 0, "verify-every", c.verify_every, ">= 0 (0 = off)");
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  require(c.threads >= 1 && c.threads <= cores, "threads", c.threads,
          "1 .. " + std::to_string(cores) + " (the cores of this node)");
  require(!(c.overwrite && !c.resume.empty()), "overwrite", c.overwrite, "false together with --resume");

  require(!(c.data_comm == DataPlane::nccl && c.device != DeviceKind::cuda), "data-comm", c.data_comm,
          "mpi with --device cpu");
  require(!(c.device == DeviceKind::cuda && c.algorithm == AlgorithmKind::fedkseed), "device", c.device,
          "cpu with --algorithm fedkseed (its zeroth-order steps run on the host)");
  if (!c.model_dir.empty())
    require(std::filesystem::exists(c.model_dir), "model-dir", c.model_dir,
            "an existing Hugging Face model folder or .gguf file");
  if (c.data.source == DataSource::dolly)
    require(std::filesystem::is_regular_file(c.data.data_file), "data-file", c.data.data_file,
            "an existing Dolly-15K JSONL file");
  require(c.data.instance_fraction > 0.0 && c.data.instance_fraction <= 1.0, "instance-fraction",
          c.data.instance_fraction, "(0, 1]");
  require(c.data.max_length >= 0, "max-length", c.data.max_length, ">= 0 (0 = keep all)");
  require(std::isfinite(c.data.dirichlet_alpha) && c.data.dirichlet_alpha > 0.0, "dirichlet-alpha",
          c.data.dirichlet_alpha, "> 0");
  require(c.data.min_per_client >= 1, "min-per-client", c.data.min_per_client, ">= 1");
  if (c.data.source == DataSource::ni) {
    require(!c.data.data_dir.empty(), "data-dir", c.data.data_dir, "a folder of Natural Instructions *.json tasks");
    require(std::filesystem::is_directory(c.data.data_dir), "data-dir", c.data.data_dir, "an existing folder");
  }
  const int64_t max_per_client = std::max<int64_t>(1, kMaxEmbeddedExamples / c.num_clients);
  require(c.data.train_per_client >= 1 && c.data.train_per_client <= max_per_client, "train-per-client",
          c.data.train_per_client, "1 .. " + std::to_string(max_per_client) + " (num-clients × train-per-client <= " +
          std::to_string(kMaxEmbeddedExamples) + ")");
  require(c.data.eval_per_task >= 1, "eval-per-task", c.data.eval_per_task, ">= 1");
  // With --eval-tasks the held-out tasks are the evaluation set, so holding out instances is optional.
  require(c.data.eval_fraction >= (c.data.eval_tasks.empty() ? 1e-300 : 0.0) && c.data.eval_fraction < 1.0,
          "eval-fraction", c.data.eval_fraction, c.data.eval_tasks.empty() ? "(0, 1)" : "[0, 1)");
  require(c.data.max_instances_per_task >= 0, "max-instances-per-task", c.data.max_instances_per_task, ">= 0");

  validate_model(c.model);
  validate_privacy(c);
}

std::string to_ini(const Config& config) {
  Config copy = config;
  std::ostringstream os;
  os << "# ferret " << FERRET_VERSION << " resolved configuration (usable as --config)\n";
  for_each_option(copy, [&os](const char* name, auto& field, const char*) {
    os << name << " = " << format_value(field) << "\n";
  });
  return os.str();
}

}  // namespace ferret
