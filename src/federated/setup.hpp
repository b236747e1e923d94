// defines: OutputPaths, RunState, RoundBuffers, setup_run — everything a rank builds before round 1
//
// Setup is where bad input is refused: every step runs on every rank, and a failure on any rank
// becomes the same ConfigError everywhere (setup_everywhere), so the job ends with one line and
// exit 2 instead of a hang in a collective. Filesystem decisions (is --out usable, which
// checkpoint to resume) are made once, on rank 0, and broadcast (decide_on_root). Rank 0 locks
// --out first (io/run_lock.hpp) and holds the lock for the run. Nothing in --out changes before
// every input (device, model, data, checkpoint, options a resume may not change) has been
// validated: a refused run leaves an earlier run, or an absent --out, as it was.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/server_optimizer.hpp"
#include "comm/mpi_comm.hpp"
#include "config/config.hpp"
#include "config/resume_rules.hpp"
#include "data/example.hpp"
#include "federated/client_privacy.hpp"
#include "federated/compute_device.hpp"
#include "federated/secure_aggregator.hpp"
#include "io/checkpoint_file.hpp"
#include "io/metrics_file.hpp"
#include "io/run_lock.hpp"
#include "model/flat_params.hpp"
#include "model/llama.hpp"

namespace ferret {

struct OutputPaths {
  std::string dir, metrics, checkpoints, resume_from;  // resume_from: checkpoint file, or empty
};

// Everything a rank holds for the run, built identically on every rank (rank 0 adds the
// evaluation sets and the metrics file).
// Floats of the UploadHeader appended to every upload (round.hpp), known here for the buffers.
inline constexpr size_t kUploadHeaderFloats = 4;

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
  std::unique_ptr<ClientPrivacy> privacy;  // --dp-clip: sampling, clipping, noise, the accountant (off: on() false)
  std::unique_ptr<SecureAggregator> secure;  // --secure-aggregation: the masked upload reduce
  int64_t start_round = 0;
  std::vector<OptionChange> resume_changes;  // recorded options this resume changed (resume_rules.hpp)
  OutputPaths paths;
  std::vector<EncodedExample> eval_encoded;  // rank 0
  std::vector<Example> rouge_examples;       // rank 0
  std::optional<RunLock> out_lock;           // rank 0: held until the metrics file is closed
  std::optional<MetricsWriter> metrics;      // rank 0
};

// Builds the rank's state: opens the device and the data plane, prepares --out, loads model and
// data, makes the algorithm and the server optimizer, resumes from a checkpoint, and (rank 0)
// opens metrics.h5. Throws ConfigError (the same on every rank) for any bad input.
RunState setup_run(const Config& config, Comm& comm);

// The data plane of the round: the NCCL backend with --data-comm nccl, else `comm` itself.
DataComm& data_plane(RunState& st, Comm& comm);

}  // namespace ferret
