// defines: Config (every option of a run), parse_config, validate_config, to_ini
//
// One Config for the whole run, filled once by Boost.Program_options (CLI overrides the INI file
// named by --config), validated once, then passed by const reference. INI keys are the CLI names
// without the dashes (`rounds = 20`), so a resolved config printed by to_ini() is itself a valid
// --config file: that text is stored in metrics.h5 and in every checkpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferret {

// A bad option, value or file: what() is one line naming it and what is allowed.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
  std::string source = "embedded";  // embedded | ni | dolly
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

  std::string algorithm = "ferret"; // ferret | fedavg | fedkseed
  int64_t rounds = 20;
  int64_t num_clients = 8;
  double participation = 1.0;       // fraction of clients sampled per round, (0, 1]
  std::string client_weighting = "samples";  // samples | equal

  int64_t local_steps = 10;         // T optimizer steps per client per round
  double lr = 1e-3;                 // local learning rate
  std::string optimizer = "adamw";  // sgd | adamw
  double weight_decay = 0.0;
  int64_t batch_size = 8;
  int64_t grad_accum = 1;           // micro-batches per optimizer step
  double grad_clip = 1.0;           // max global grad norm per step; 0 = off
  double max_update_norm = 1e4;     // a client update with a larger norm (or NaN/Inf) is dropped; 0 = no limit
  std::string inject_fault = "none";  // testing aid: none | nan | huge — corrupt one client's update
  int64_t inject_fault_client = 0;  // the client whose update --inject-fault corrupts

  int64_t k = 1024;                 // Ferret: coefficients per round (sum over blocks); FedKSeed: candidate seeds
  std::string basis = "rademacher"; // rademacher | gaussian | truncnormal
  std::string allocation = "norm";  // uniform | size | norm
  double zo_eps = 5e-4;             // FedKSeed: perturbation ε of the two-point estimate
  bool fedkseed_pro = false;        // FedKSeed-Pro: seed probabilities from the gradient history

  double server_lr = 1.0;
  std::string server_lr_schedule = "constant";  // constant | linear | cosine
  double server_lr_min = 0.0;       // end value of linear/cosine
  double server_momentum = 0.0;     // heavy-ball momentum on the aggregated update
  double server_clip = 0.0;         // max norm of the applied update; 0 = off

  uint64_t seed = 42;
  int64_t eval_every = 5;           // Rouge-L every N rounds (and at the end); eval loss every round
  int64_t eval_samples = 64;        // held-out instances used for eval loss
  int64_t rouge_samples = 32;       // held-out instances generated for Rouge-L
  int64_t max_new_tokens = 32;
  int64_t checkpoint_every = 10;    // and always at the end; 0 = only at the end
  int64_t verify_every = 1;         // replica checksum comparison every N rounds; 0 = off
  int64_t threads = 1;              // LibTorch/OpenMP threads per rank
  std::string device = "cpu";       // cpu | cuda (model and parameter-space vectors on the rank's GPU)
  std::string data_comm = "mpi";    // mpi | nccl (the round's payloads: host over MPI, or GPU buffers over NCCL)
  std::string model_dir;            // pretrained model: Hugging Face folder or .gguf file ("" = embedded model)
  std::string dtype = "fp32";       // fp32 | bf16 (autocast; master weights stay fp32)
  std::string prompt_template = "alpaca";  // alpaca | chat

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
