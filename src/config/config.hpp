// defines: Config (every option of a run), parse_config, validate_config, to_ini
//
// One Config for the whole run, filled once by Boost.Program_options (CLI overrides the INI file
// named by --config), validated once, then passed by const reference. INI keys are the CLI names
// without the dashes (`rounds = 20`), so a resolved config printed by to_ini() is itself a valid
// --config file: that text is stored in metrics.h5 and in every checkpoint.
//
// Every choice is an enum once parsed (Choices<E> below names its values), so no string is
// compared after validation and an unknown value cannot silently fall through to a default.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/example.hpp"
#include "projection/projection.hpp"
#include "random/basis.hpp"

namespace ferret {

// A bad option, value or file: what() is one line naming it and what is allowed.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class AlgorithmKind { ferret, fedavg, fedkseed };
enum class ClientWeighting { samples, equal };  // by training examples, or 1 per client
enum class OptimizerKind { sgd, adamw };
enum class LrSchedule { constant, linear, cosine };
enum class FaultKind { none, nan, huge };      // --inject-fault (a testing aid)
enum class DeviceKind { cpu, cuda };
enum class DataPlane { mpi, nccl };            // where the round's payloads travel
enum class Precision { fp32, bf16 };
enum class DataSource { embedded, ni, dolly };

// The names of an enum's values, as options and INI files spell them.
template <class E>
struct Choices;
#define FERRET_CHOICES(E, ...)                                                 \
  template <>                                                                  \
  struct Choices<E> {                                                          \
    static constexpr std::pair<E, std::string_view> values[] = {__VA_ARGS__}; \
  }
FERRET_CHOICES(AlgorithmKind, {AlgorithmKind::ferret, "ferret"}, {AlgorithmKind::fedavg, "fedavg"},
               {AlgorithmKind::fedkseed, "fedkseed"});
FERRET_CHOICES(ClientWeighting, {ClientWeighting::samples, "samples"}, {ClientWeighting::equal, "equal"});
FERRET_CHOICES(OptimizerKind, {OptimizerKind::sgd, "sgd"}, {OptimizerKind::adamw, "adamw"});
FERRET_CHOICES(LrSchedule, {LrSchedule::constant, "constant"}, {LrSchedule::linear, "linear"},
               {LrSchedule::cosine, "cosine"});
FERRET_CHOICES(FaultKind, {FaultKind::none, "none"}, {FaultKind::nan, "nan"}, {FaultKind::huge, "huge"});
FERRET_CHOICES(DeviceKind, {DeviceKind::cpu, "cpu"}, {DeviceKind::cuda, "cuda"});
FERRET_CHOICES(DataPlane, {DataPlane::mpi, "mpi"}, {DataPlane::nccl, "nccl"});
FERRET_CHOICES(Precision, {Precision::fp32, "fp32"}, {Precision::bf16, "bf16"});
FERRET_CHOICES(DataSource, {DataSource::embedded, "embedded"}, {DataSource::ni, "ni"}, {DataSource::dolly, "dolly"});
FERRET_CHOICES(Basis, {Basis::rademacher, "rademacher"}, {Basis::gaussian, "gaussian"},
               {Basis::truncnormal, "truncnormal"});
FERRET_CHOICES(Allocation, {Allocation::uniform, "uniform"}, {Allocation::size, "size"}, {Allocation::norm, "norm"});
FERRET_CHOICES(PromptTemplate, {PromptTemplate::alpaca, "alpaca"}, {PromptTemplate::chat, "chat"});
#undef FERRET_CHOICES

template <class E>
constexpr std::string_view name_of(E value) {
  for (const auto& [v, name] : Choices<E>::values)
    if (v == value) return name;
  return "?";
}

// "a | b | c", for messages.
template <class E>
std::string choice_list() {
  std::string list;
  for (const auto& [v, name] : Choices<E>::values) list += (list.empty() ? "" : " | ") + std::string(name);
  return list;
}

// The value named `text`, else ConfigError "--option = 'text' is invalid: allowed a | b".
template <class E>
E parse_choice(std::string_view option, std::string_view text) {
  for (const auto& [v, name] : Choices<E>::values)
    if (name == text) return v;
  throw ConfigError("--" + std::string(option) + " = '" + std::string(text) + "' is invalid: allowed " +
                    choice_list<E>());
}

struct ModelConfig {
  int64_t hidden_size = 64;         // d_model
  int64_t num_layers = 2;           // decoder layers
  int64_t num_heads = 4;            // query heads
  int64_t num_kv_heads = 2;         // key/value heads (grouped-query attention when < num_heads)
  int64_t intermediate_size = 176;  // SwiGLU width
  bool tie_embeddings = true;       // lm_head shares embed_tokens' weight
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  int64_t max_seq_len = 128;        // longest training/eval sequence (tokens)
  int64_t vocab_size = 0;           // set from the tokenizer, not an option
};

struct DataConfig {
  DataSource source = DataSource::embedded;
  std::string data_dir;             // Natural Instructions task folder (source = ni)
  std::string data_file;            // Dolly-15K JSONL (source = dolly)
  int64_t train_per_client = 256;   // embedded: examples per client
  int64_t eval_per_task = 16;       // embedded: held-out instances per task family
  double eval_fraction = 0.1;       // ni: held-out share of each task
  int64_t max_instances_per_task = 0;  // ni: 0 = all
  double instance_fraction = 1.0;   // ni: random share of each task's instances kept (paper: 0.2)
  std::string eval_tasks;           // ni: comma-separated task names held out for evaluation
  int64_t max_length = 0;           // ni/dolly: drop examples longer than this many tokens; 0 = keep (truncate)
  double dirichlet_alpha = 0.5;     // dolly: label-skew concentration
  int64_t min_per_client = 10;      // dolly: every client holds at least this many examples
  std::string eval_category = "summarization";  // dolly: the held-out category
};

struct Config {
  std::string config_file;          // --config (empty: defaults + CLI only)
  std::string out = "runs/default"; // output directory: metrics.h5, checkpoints/
  bool overwrite = false;           // replace the contents of a non-empty --out
  std::string resume;               // "" | auto | path of a checkpoint

  AlgorithmKind algorithm = AlgorithmKind::ferret;
  int64_t rounds = 20;
  int64_t num_clients = 8;
  double participation = 1.0;       // fraction of clients sampled per round, (0, 1]
  ClientWeighting client_weighting = ClientWeighting::samples;

  int64_t local_steps = 10;         // T optimizer steps per client per round
  double lr = 1e-3;                 // local learning rate
  OptimizerKind optimizer = OptimizerKind::adamw;
  double weight_decay = 0.0;
  int64_t batch_size = 8;
  int64_t grad_accum = 1;           // micro-batches per optimizer step
  double grad_clip = 1.0;           // max global grad norm per step; 0 = off
  double max_update_norm = 1e4;     // a client update with a larger norm (or NaN/Inf) is dropped; 0 = no limit
  FaultKind inject_fault = FaultKind::none;  // testing aid: corrupt one client's update
  int64_t inject_fault_client = 0;  // the client whose update --inject-fault corrupts

  int64_t k = 1024;                 // Ferret: coefficients per round (sum over blocks); FedKSeed: candidate seeds
  Basis basis = Basis::rademacher;
  Allocation allocation = Allocation::norm;
  double zo_eps = 5e-4;             // FedKSeed: perturbation ε of the two-point estimate
  bool fedkseed_pro = false;        // FedKSeed-Pro: seed probabilities from the gradient history

  double server_lr = 1.0;
  LrSchedule server_lr_schedule = LrSchedule::constant;
  double server_lr_min = 0.0;       // end value of linear/cosine
  double server_momentum = 0.0;     // heavy-ball momentum on the aggregated update
  double server_clip = 0.0;         // max norm of the applied update; 0 = off

  // Client-level differential privacy (federated/client_privacy.hpp); dp_clip = 0: off.
  double dp_clip = 0.0;             // C: each client's upload (payload space) is clipped to this L2 norm
  double dp_noise_multiplier = 0.0; // z: the server adds N(0, z²C²) to every coordinate of the sum
  double dp_delta = 1e-5;           // δ of the reported (ε, δ)
  double dp_target_epsilon = 0.0;   // stop before a round that would exceed this ε; 0 = no limit
  bool secure_aggregation = false;  // masked fixed-point uploads: rank 0 learns only their sum (needs dp_clip > 0)

  uint64_t seed = 42;
  int64_t eval_every = 5;           // Rouge-L every N rounds (and at the end); eval loss every round
  int64_t eval_samples = 64;        // held-out instances used for eval loss
  int64_t rouge_samples = 32;       // held-out instances generated for Rouge-L
  int64_t max_new_tokens = 32;
  int64_t checkpoint_every = 10;    // and always at the end; 0 = only at the end
  int64_t verify_every = 1;         // replica checksum comparison every N rounds; 0 = off
  int64_t threads = 1;              // LibTorch/OpenMP threads per rank
  DeviceKind device = DeviceKind::cpu;  // cuda: model and parameter-space vectors on the rank's GPU
  DataPlane data_comm = DataPlane::mpi;  // nccl: the round's payloads as GPU buffers over NCCL
  std::string model_dir;            // pretrained model: Hugging Face folder or .gguf file ("" = embedded model)
  Precision dtype = Precision::fp32;  // bf16: autocast; master weights stay fp32
  PromptTemplate prompt_template = PromptTemplate::alpaca;

  ModelConfig model;
  DataConfig data;
};

// Result of parsing argv: either a config or the --help/--version text to print.
struct ParseResult {
  std::optional<Config> config;
  std::string message;  // help or version text when config is empty
};

// Parses argv (and the --config INI file), validates, throws ConfigError on any problem.
ParseResult parse_config(int argc, const char* const* argv);

// A configuration from INI text alone (e.g. the `config` attribute of metrics.h5), validated.
Config config_from_ini(const std::string& text);

// Throws ConfigError naming the first bad value and the allowed range.
void validate_config(const Config&);

// The resolved configuration as INI text, loadable again with --config.
std::string to_ini(const Config&);

}  // namespace ferret
