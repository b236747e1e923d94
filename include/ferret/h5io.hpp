// defines: RunAttributes, RoundRecord, MetricsWriter, MetricsData, read_metrics,
//          TensorEntry, Checkpoint, checksum_floats, checksum_params, write_checkpoint,
//          read_checkpoint, latest_checkpoint, checkpoint_name — every HDF5 file ferret reads or writes
//
// Two file kinds, both plain HDF5 (h5py/h5dump read them):
//   metrics.h5          — written by rank 0 one round at a time and flushed after each, so a killed
//                         job keeps the rounds it finished; a resumed job truncates it back to its
//                         checkpoint and goes on appending.
//   round_NNNNNN.h5     — a checkpoint: parameters, server state, the resolved config. Written to a
//                         temporary name, verified, then renamed, so `path` is always whole.
// Every failure is a std::runtime_error with one line naming the file, the object and what failed;
// HDF5's own error-stack printing is switched off (its innermost reason is appended instead).
// The header stays free of <hdf5.h>: callers need not see the C API.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ferret {

// ---- metrics.h5 --------------------------------------------------------------------------------

// Root attributes of metrics.h5.
struct RunAttributes {
  std::string algorithm;
  int64_t k = 0, num_clients = 0, ranks = 0, rounds = 0, seed = 0, num_params = 0, num_blocks = 0;
  std::string config;   // the resolved INI text
  std::string version;
};

// One federated round.
struct RoundRecord {
  double eval_loss = 0, train_loss = 0, rouge_l = 0;  // rouge_l NaN when not evaluated this round
  uint64_t bytes_up = 0, bytes_down = 0, bytes_control = 0;
  int32_t participants = 0, senders = 0;
  double time_local = 0, time_project = 0, time_comm = 0, time_reconstruct = 0, time_round = 0;
  double time_eval = 0;  // rank 0's evaluation after the round (eval loss, Rouge-L), not in time_round
  double time_wait = 0;  // waiting at the barrier for the slowest rank before the reduce (imbalance)
  std::vector<float> coefficients;       // length k (FedAvg: k = 0 → empty)
  std::vector<float> client_train_loss;  // length num_clients, NaN where not selected
  std::vector<int32_t> allocation;       // length num_blocks: K_l of each block (empty when num_blocks = 0)
};

// Layout: root attributes as in RunAttributes (strings variable-length UTF-8, integers 64-bit);
// /rounds/{eval_loss, train_loss, rouge_l, time_local, time_project, time_comm, time_reconstruct,
// time_round, time_eval, time_wait} float64, /rounds/{bytes_up, bytes_down, bytes_control} uint64,
// /rounds/{participants, senders} int32, /coefficients R×k float32 (absent when k = 0),
// /clients/train_loss R×num_clients float32 (absent when num_clients = 0),
// /allocation R×num_blocks int32 (absent when num_blocks = 0). All chunked and extendible.
// eval_loss has R+1 entries: entry 0 is the loss before training (NaN until written).
class MetricsWriter {
 public:
  // Creates `path`, which must not exist, with the attributes and empty datasets.
  static MetricsWriter create(const std::string& path, const RunAttributes& attrs);
  // Re-opens `path` to continue a resumed run: every dataset is cut back to `completed_rounds`
  // rows (eval_loss to completed_rounds + 1) so rounds written after the checkpoint are redone.
  // algorithm, k, num_clients, num_blocks and num_params must match the file (they fix the
  // dataset shapes); rounds, ranks, seed, config and version are rewritten from `attrs`.
  // Throws when the file holds fewer than `completed_rounds` rounds.
  static MetricsWriter resume(const std::string& path, const RunAttributes& attrs, int64_t completed_rounds);

  MetricsWriter(MetricsWriter&&) noexcept;
  MetricsWriter& operator=(MetricsWriter&&) noexcept;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  ~MetricsWriter();  // closes the file; errors there are swallowed (use close() to see them)

  void write_initial_eval_loss(double loss);  // eval_loss[0]; flushed
  void write_initial_rouge_l(double rouge_l);  // root attribute initial_rouge_l (before training); flushed
  // Extends every dataset by one row (eval_loss entry rounds_written() + 1) and flushes.
  // Vector lengths must be k, num_clients and num_blocks.
  void append_round(const RoundRecord& round);
  int64_t rounds_written() const;
  const std::string& path() const;
  void close();  // flush and close now, throwing on failure; the writer is unusable afterwards

 private:
  struct Impl;
  explicit MetricsWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Everything in metrics.h5, read back (tests, analysis parity). R = length of /rounds/train_loss;
// coefficients / client_train_loss / allocation have R rows (rows are empty when their width is 0).
struct MetricsData {
  RunAttributes attrs;
  double initial_rouge_l = std::numeric_limits<double>::quiet_NaN();  // before training, when measured
  std::vector<double> eval_loss, train_loss, rouge_l, time_local, time_project, time_comm, time_reconstruct,
      time_round, time_eval, time_wait;
  std::vector<uint64_t> bytes_up, bytes_down, bytes_control;
  std::vector<int32_t> participants, senders;
  std::vector<std::vector<float>> coefficients, client_train_loss;
  std::vector<std::vector<int32_t>> allocation;
};
MetricsData read_metrics(const std::string& path);

// ---- checkpoints -------------------------------------------------------------------------------

// One named parameter tensor; name like "model.layers.0.self_attn.q_proj.weight" (no '/').
struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;  // product must equal data.size(); empty shape = scalar
  std::vector<float> data;
};

// Layout: root attributes round (int64), seed (uint64), algorithm, config (strings),
// params_checksum, server_checksum (uint64), format_version (int64);
// /params/<name> one float32 dataset per tensor in its shape, with an int64 attribute `index`
// (the order); /server/momentum and /server/extra 1-D float32 (possibly empty).
struct Checkpoint {
  int64_t round = 0;  // rounds completed
  uint64_t seed = 0;
  std::string algorithm, config;           // config: resolved INI text
  std::vector<TensorEntry> params;         // order is kept
  std::vector<float> server_momentum;      // may be empty
  std::vector<float> server_state_extra;   // may be empty; reserved
  // checksum_params(params). write_checkpoint ignores this field and computes it from `params`;
  // read_checkpoint fills it (after checking that the data still hashes to it).
  uint64_t params_checksum = 0;
};

// Order-dependent 64-bit hash of the float bit patterns (FNV-1a-style over 32-bit words, in four
// interleaved lanes for speed; -0.0 ≠ 0.0 and NaN payloads count). Not cryptographic.
uint64_t checksum_floats(std::span<const float> values);
// Order-dependent fold of checksum_floats over each tensor's data (the checkpoint's params_checksum).
uint64_t checksum_params(std::span<const TensorEntry> params);

// Atomic: writes "<path>.tmp.<pid>", closes it, re-reads every dataset and checks names, shapes and
// checksums, fsyncs, then renames over `path`. On any failure the temp file is removed and the
// call throws; `path` is either the old file or the new one, never half of one.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Reads and verifies (recomputed checksums must match the stored ones). Missing file, not HDF5,
// missing group/dataset/attribute, bad shape, checksum mismatch → std::runtime_error naming the
// file and what is wrong.
Checkpoint read_checkpoint(const std::string& path);
// Path of the newest "round_NNNNNN.h5" in `dir` (by round number), or "" if none (or no dir).
std::string latest_checkpoint(const std::string& dir);
// "round_000012.h5" (at least six digits). Throws for a negative round.
std::string checkpoint_name(int64_t round);

}  // namespace ferret
