// defines: RoundBuffers, RoundPlan, LocalResult, UploadHeader, RoundTimes, RoundStats, Round —
//          one federated round as a sequence of named phases
//
// Round r (0-based; printed 1-based), on every rank:
//   plan      every rank derives the sampled clients and the sending ranks from the seed;
//   train     each selected client of this rank trains from the global model; the rank sums the
//             weighted updates Δᵢ = w_start − w_end (weight: training examples, or 1) — under
//             --dp-clip it sums each client's own payload, clipped, with weight 1 (client_privacy.hpp);
//   agree     the ranks agree on what encoding needs (Ferret's K_l from the block norms);
//   upload    the algorithm encodes the sum (Ferret: K coefficients; FedAvg: d floats; FedKSeed:
//             K scalar gradients) and appends the UploadHeader; one reduce (sum) to rank 0 over
//             the sending ranks, on the data plane (MPI, or NCCL with --data-comm nccl);
//   step      rank 0's server optimizer turns the weighted mean into the step (under --dp-clip: the
//             noisy sum over q·N);
//   broadcast the step from rank 0 to every rank;
//   apply     every rank applies the same step, so all replicas stay identical;
//   verify    every --verify-every rounds the ranks compare replica checksums;
//   stats     times (max over ranks), bytes (sum), the stop signal, per-client losses.
// Rank 0 then records the round (record.hpp): evaluation, metrics.h5, progress line, checkpoint.
#pragma once

#include <cstdint>
#include <vector>

#include "comm/data_comm.hpp"
#include "federated/fault_injection.hpp"
#include "federated/setup.hpp"

namespace ferret {

// The round's vectors, allocated once. They live where the model does: w_start, and for first
// order a client's Δ and the rank's Σ wᵢΔᵢ (d floats each); zeroth order uses host K-vectors
// instead. The upload (payload, then the UploadHeader) lives with the data plane.
struct RoundBuffers {
  torch::Tensor w_start;
  torch::Tensor contribution;      // one client's Δ (or its K scalar gradients)
  torch::Tensor contribution_sum;  // this rank's weighted sum of them
  torch::Tensor upload;            // payload floats, then UploadHeader::kFloats
  const ParamKernels* contribution_space = nullptr;  // the memory `contribution` lives in
  // --dp-clip only (host, payload floats): one client's clipped payload and the rank's sum of them.
  torch::Tensor client_payload, payload_sum;
  size_t payload = 0;
  torch::Tensor step() const { return upload.narrow(0, 0, static_cast<int64_t>(payload)); }
};
RoundBuffers allocate_round_buffers(const RunState& st, const DataComm& data_comm);

// Who takes part in the round: the same on every rank, from the seed alone.
struct RoundPlan {
  int64_t index = 0;          // 0-based round
  uint32_t round = 0;         // the same, as the bases' and samplers' counter
  std::vector<int> selected;  // sampled clients, sorted
  std::vector<bool> senders;  // ranks that host at least one of them
};
RoundPlan plan_round(const Config& config, int64_t round, int world_size);
// Under --dp-clip the clients come from rank 0's secret Poisson draw instead (client_privacy.hpp).
RoundPlan plan_private_round(const Config& config, int64_t round, Comm& comm, ClientPrivacy& privacy);

// This rank's clients after local training.
struct LocalResult {
  double weight_sum = 0.0, weighted_loss = 0.0;  // Σ wᵢ and Σ wᵢ·lossᵢ over accepted updates
  double accepted = 0.0, dropped = 0.0;          // client counts
  std::vector<float> client_loss;                // per client (all N; 0 where not trained here)
};

// The floats appended to every upload and summed with it: the server learns the total weight,
// the weighted loss and how many updates were accepted and dropped, at no extra message.
struct UploadHeader {
  static constexpr size_t kFloats = kUploadHeaderFloats;
  double weight = 0.0, weighted_loss = 0.0, accepted = 0.0, dropped = 0.0;
};

struct RoundTimes {
  double local = 0, wait = 0, project = 0, comm = 0, reconstruct = 0, round = 0;
};

// The round's statistics as every rank knows them after `gather_stats`.
struct RoundStats {
  RoundTimes times;                // max over ranks
  Traffic bytes;                   // sum over ranks
  int stop_signal = 0;             // SIGUSR1/SIGTERM seen by any rank (signals.hpp), else 0
  double train_loss = 0.0;         // weighted mean over accepted updates (NaN if none)
  int64_t dropped = 0;
  std::vector<float> client_loss;  // rank 0: every client's loss (summed over ranks)
};

// The round's phases over one rank's state. Each public member is one phase; run() is the round.
class Round {
 public:
  Round(const Config& config, Comm& comm, RunState& st, RoundBuffers& buffers, const UpdateFault& fault);
  RoundStats run(const RoundPlan& plan);

  LocalResult train(const RoundPlan& plan);
  void agree(const RoundPlan& plan);
  void encode(const RoundPlan& plan, const LocalResult& local);
  UploadHeader upload(const RoundPlan& plan);
  void server_step(const UploadHeader& total, int64_t round);
  void broadcast();
  void apply();
  void verify(int64_t round);
  RoundStats gather_stats(const Traffic& sent, const UploadHeader& total, std::vector<float> client_loss);

 private:
  double train_one(int client, const RoundPlan& plan);

  const Config& config_;
  Comm& comm_;        // the control plane (and, without NCCL, the data plane)
  DataComm& data_;    // the data plane
  RunState& st_;
  RoundBuffers& buf_;
  const UpdateFault& fault_;
  RoundTimes times_;
};

// Bytes a rank moved through both planes (they are separate objects only with --data-comm nccl).
Traffic traffic_of(const Comm& comm, const DataComm& data_comm);

}  // namespace ferret
