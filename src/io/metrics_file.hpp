// defines: RunAttributes, RoundRecord, MetricsWriter, MetricsData, read_metrics — metrics.h5,
//          one run's per-round record (schema below)
//
// Rank 0 writes it one round at a time and flushes after each, so a killed job keeps the rounds
// it finished; a resumed job cuts it back to its checkpoint and goes on appending. This header is
// the reference for what the file holds (analysis/ reads the same schema). Plain HDF5 (h5py/h5dump
// read it); no <hdf5.h> here, callers need not see the C API. Every failure is a
// std::runtime_error with one line starting "h5io: " and naming the file, the object and what failed.
//
// ---- metrics.h5, schema_version 4 --------------------------------------------------------------
// R = rounds written, K = k, N = num_clients, L = num_blocks. Numbers little-endian; strings
// variable-length UTF-8 (fixed-length ones are accepted on read); every attribute is a scalar on "/".
// Root attributes:
//   schema_version   int64    5 (4 lacked /rounds/dp_epsilon, 3 also /config_history, 2 also
//                             /rounds/time_wait, 1 also /rounds/time_eval); read_metrics and
//                             MetricsWriter::resume accept 3 (as a run without option changes), 4
//                             (dp_epsilon read as NaN; a resume adds it) and 5, and refuse the rest
//   algorithm        string   "ferret", "fedavg", "fedkseed", ...
//   k                int64    K, payload floats per round (0 for fedavg)
//   num_clients      int64    N
//   ranks            int64    MPI ranks of the (latest) job
//   rounds           int64    rounds the (latest) job was configured for
//   seed             int64    the run's --seed
//   num_params       int64    d, trainable parameters
//   num_blocks       int64    L, parameter blocks of the allocation (0 when there are none)
//   config           string   the resolved INI text the run started with (as config.ini); a
//                             resume never rewrites it (see /config_history)
//   version          string   ferret's version
//   initial_rouge_l  float64  Rouge-L before training; only present once it was measured
// Group /config_history: one string attribute per configuration the run has used,
//   from_round_NNNNNN  string   the resolved INI text in effect from round NNNNNN (1-based) on;
//                               from_round_000001 equals /config, and a resume that changes a
//                               recorded option (lr, local-steps, participation, ...) adds one.
// Groups /rounds and /clients always exist. Datasets, all chunked and extendible along axis 0
// (maxshape R = unlimited); float datasets read unwritten entries as NaN (their fill value):
//   /rounds/eval_loss         R+1      float64  held-out loss per response token; entry 0 is before
//                                               training (NaN until written), entry r+1 after round r
//   /rounds/train_loss        R        float64  client-weighted mean training loss of the selected clients
//   /rounds/rouge_l           R        float64  Rouge-L F; NaN in rounds it was not evaluated
//   /rounds/bytes_up          R        uint64   payload bytes handed to the data plane (MPI, or NCCL)
//                                               toward the server, summed over ranks
//   /rounds/bytes_down        R        uint64   payload bytes received from the server, summed over ranks
//   /rounds/bytes_control     R        uint64   bookkeeping traffic (checksums, timings, client losses)
//   /rounds/participants      R        int32    clients selected
//   /rounds/senders           R        int32    ranks that uploaded
//   /rounds/time_local, time_project, time_comm, time_reconstruct, time_round
//                             R        float64  seconds, max over ranks (the wait for the slowest
//                                               rank is time_wait, in none of these)
//   /rounds/time_eval         R        float64  seconds of rank 0's evaluation after the round (eval
//                                               loss, Rouge-L); not part of time_round
//   /rounds/time_wait         R        float64  seconds at the barrier after local training, waiting
//                                               for the slowest rank (imbalance; max over ranks)
//   /rounds/dp_epsilon        R        float64  ε spent after the round at --dp-delta (client-level DP,
//                                               federated/client_privacy.hpp); NaN without --dp-clip
//   /coefficients             R × K    float32  the broadcast step of every round: with the base model
//                                               and the seed it replays the run; absent when K = 0
//   /clients/train_loss       R × N    float32  each client's training loss, NaN where not selected;
//                                               absent when N = 0
//   /allocation               R × L    int32    K_l of every block in every round; absent when L = 0
// Chunks: up to 256 rows and about 64 KiB. Object formats of HDF5 1.8+ (object-header checksums,
// dense attribute storage for a long config).
// A round is appended dataset by dataset (eval_loss; the float64, uint64, int32 /rounds columns;
// /coefficients, /clients/train_loss, /allocation) and flushed once, so a reader of a live file
// may find the datasets one entry apart and should take the shortest as the completed rounds.
// Reading a file a run holds open needs HDF5_USE_FILE_LOCKING=FALSE.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace ferret {

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
  double time_wait = 0;  // at the barrier after local training, waiting for the slowest rank (imbalance)
  double dp_epsilon = std::numeric_limits<double>::quiet_NaN();  // ε after the round; NaN without DP
  std::vector<float> coefficients;       // length k (FedAvg: k = 0 → empty)
  std::vector<float> client_train_loss;  // length num_clients, NaN where not selected
  std::vector<int32_t> allocation;       // length num_blocks: K_l of each block (empty when num_blocks = 0)
};

class MetricsWriter {
 public:
  // Creates `path` (its directory must exist, the file must not) with the attributes and empty
  // datasets. A failure after the file was made removes it.
  static MetricsWriter create(const std::string& path, const RunAttributes& attrs);
  // Re-opens `path` to continue a resumed run: every dataset is cut back to `completed_rounds`
  // rows (eval_loss to completed_rounds + 1) so rounds written after the checkpoint are redone.
  // algorithm, k, num_clients, num_blocks and num_params must match the file (k, num_clients and
  // num_blocks fix the dataset shapes, algorithm and num_params what the rows mean); rounds,
  // ranks, seed and version are rewritten from `attrs`. Throws, changing nothing, when
  // the file holds fewer than `completed_rounds` rounds.
  // /config stays the configuration the run started with; /config_history loses the entries of
  // rounds after `completed_rounds` and, when `config_changed`, gains attrs.config from round
  // completed_rounds + 1 (a resume that changed a recorded option, config/resume_rules.hpp).
  static MetricsWriter resume(const std::string& path, const RunAttributes& attrs, int64_t completed_rounds,
                              bool config_changed = false);

  MetricsWriter(MetricsWriter&&) noexcept;
  MetricsWriter& operator=(MetricsWriter&&) noexcept;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  ~MetricsWriter();  // closes the file; errors there are swallowed (use close() to see them)

  void write_initial_eval_loss(double loss);  // eval_loss[0]; flushed
  void write_initial_rouge_l(double rouge_l);  // root attribute initial_rouge_l (before training); flushed
  // Extends every dataset by one row (eval_loss entry rounds_written() + 1) and flushes.
  // Vector lengths must be k, num_clients and num_blocks (checked before anything is written).
  void append_round(const RoundRecord& round);
  int64_t rounds_written() const;
  const std::string& path() const;
  void close();  // flush and close now, throwing on failure; the writer is unusable afterwards

 private:
  struct Impl;
  explicit MetricsWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One configuration of a run and the first round (1-based) it was in effect for.
struct ConfigSegment {
  int64_t from_round = 1;
  std::string config;  // INI text
};

// Everything in metrics.h5, read back (tests, analysis parity). R = length of /rounds/train_loss;
// coefficients / client_train_loss / allocation have R rows (rows are empty when their width is 0).
struct MetricsData {
  RunAttributes attrs;
  double initial_rouge_l = std::numeric_limits<double>::quiet_NaN();  // before training, when measured
  std::vector<double> eval_loss, train_loss, rouge_l, time_local, time_project, time_comm, time_reconstruct,
      time_round, time_eval, time_wait, dp_epsilon;
  std::vector<uint64_t> bytes_up, bytes_down, bytes_control;
  std::vector<int32_t> participants, senders;
  std::vector<std::vector<float>> coefficients, client_train_loss;
  std::vector<std::vector<int32_t>> allocation;
  std::vector<ConfigSegment> config_history;  // by from_round; the first is {1, attrs.config}
};
MetricsData read_metrics(const std::string& path);

}  // namespace ferret
