// End-to-end federated runs, in-process, under mpirun -np 1 / 3 / 4 (see tests/CMakeLists.txt).
// Every rank runs every test; assertions about files are made on rank 0.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "comm/mpi_comm.hpp"
#include "config/config.hpp"
#include "io/checkpoint_file.hpp"
#include "io/checksum.hpp"
#include "io/metrics_file.hpp"
#include "federated/replay.hpp"
#include "federated/round.hpp"
#include "federated/run.hpp"
#include "federated/signals.hpp"
#include "privacy/rdp_accountant.hpp"

#include <csignal>

namespace fs = std::filesystem;
using namespace ferret;

namespace {

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

bool is_root() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r == 0;
}

// A fresh output directory, the same path on every rank.
std::string fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("ferret_test_np" + std::to_string(world_size())) / name;
  if (is_root()) fs::remove_all(dir);
  MPI_Barrier(MPI_COMM_WORLD);
  return dir.string();
}

// A small job: a tiny LLaMA on the embedded tasks, seconds per run on 2 cores.
Config small_job(const std::string& out, const std::string& algorithm = "ferret") {
  Config c;
  c.out = out;
  c.algorithm = parse_choice<AlgorithmKind>("algorithm", algorithm);
  c.rounds = 4;
  c.num_clients = 6;
  c.participation = 1.0;
  c.local_steps = 8;
  c.optimizer = OptimizerKind::sgd;
  c.lr = 0.1;
  c.batch_size = 8;
  c.k = 2048;
  c.server_lr = 1.0;
  c.eval_every = 2;
  c.eval_samples = 32;
  c.rouge_samples = 4;
  c.max_new_tokens = 8;
  c.checkpoint_every = 2;
  c.data.train_per_client = 64;
  c.data.eval_per_task = 4;
  c.model.hidden_size = 32;
  c.model.num_layers = 1;
  c.model.num_heads = 4;
  c.model.num_kv_heads = 2;
  c.model.intermediate_size = 64;
  validate_config(c);
  return c;
}

RunSummary run(const Config& c) {
  Comm comm;
  std::ostringstream log;
  return run_federated(c, comm, log);
}

// The run `c`, in folder `out`, done in two jobs: `first_rounds`, then --resume auto to c.rounds.
// Returns the resumed job's config and summary.
std::pair<Config, RunSummary> run_in_two_jobs(Config c, const std::string& out, int64_t first_rounds) {
  c.out = out;
  Config first = c;
  first.rounds = first_rounds;
  run(first);
  c.resume = "auto";
  return {c, run(c)};
}

std::vector<float> final_params(const std::string& out, int64_t round) {
  const auto ck = read_checkpoint((fs::path(out) / "checkpoints" / checkpoint_name(round)).string());
  std::vector<float> all;
  for (const auto& t : ck.params) all.insert(all.end(), t.data.begin(), t.data.end());
  return all;
}

TEST(Federated, FerretLowersEvalLossWithIdenticalReplicas) {
  Config c = small_job(fresh_dir("ferret"));
  c.verify_every = 1;  // any replica difference throws inside the run
  const RunSummary s = run(c);
  EXPECT_EQ(s.rounds_done, c.rounds);
  if (!is_root()) return;
  EXPECT_LT(s.final_eval_loss, s.initial_eval_loss - 0.1)
      << "initial " << s.initial_eval_loss << " final " << s.final_eval_loss;
  const MetricsData m = read_metrics(s.metrics_path);
  ASSERT_EQ(m.eval_loss.size(), static_cast<size_t>(c.rounds + 1));
  EXPECT_TRUE(std::isnan(m.rouge_l[0]));
  EXPECT_FALSE(std::isnan(m.rouge_l[1]));
  EXPECT_EQ(m.attrs.num_params, static_cast<int64_t>(final_params(c.out, c.rounds).size()));
  // The seed and /coefficients alone rebuild every checkpointed round bit for bit.
  std::ostringstream log;
  for (int64_t round : {int64_t{2}, int64_t{0}}) {
    const ReplayResult replay = replay_run(c.out, round, log);
    EXPECT_TRUE(replay.identical) << log.str();
    EXPECT_EQ(replay.round, round == 0 ? c.rounds : round);
  }
}

TEST(Federated, FedAvgLowersEvalLoss) {
  const Config c = small_job(fresh_dir("fedavg"), "fedavg");
  const RunSummary s = run(c);
  if (!is_root()) return;
  EXPECT_LT(s.final_eval_loss, s.initial_eval_loss - 0.3)
      << "initial " << s.initial_eval_loss << " final " << s.final_eval_loss;
}

TEST(Federated, BytesAreKFloatsPlusHeaderPerSendingRank) {
  const int P = world_size();
  Config ferret_job = small_job(fresh_dir("bytes_ferret"));
  ferret_job.rounds = 2;
  ferret_job.participation = 0.5;  // some ranks may have no selected client in a round
  ferret_job.allocation = Allocation::uniform;
  const RunSummary fs_ = run(ferret_job);
  Config fedavg_job = ferret_job;
  fedavg_job.algorithm = AlgorithmKind::fedavg;
  fedavg_job.out = fresh_dir("bytes_fedavg");
  const RunSummary fa = run(fedavg_job);
  if (!is_root()) return;
  const uint64_t header = UploadHeader::kFloats * sizeof(float);
  EXPECT_LE(header, 64u);
  const MetricsData mf = read_metrics(fs_.metrics_path), ma = read_metrics(fa.metrics_path);
  const auto d = static_cast<uint64_t>(mf.attrs.num_params);
  for (size_t r = 0; r < mf.bytes_up.size(); ++r) {
    EXPECT_EQ(mf.participants[r], 3);
    ASSERT_GE(mf.senders[r], 1);
    EXPECT_EQ(mf.bytes_up[r], static_cast<uint64_t>(mf.senders[r]) * (4 * ferret_job.k + header)) << "round " << r;
    EXPECT_EQ(mf.bytes_down[r], static_cast<uint64_t>(P - 1) * 4 * ferret_job.k);
    EXPECT_EQ(ma.bytes_up[r], static_cast<uint64_t>(ma.senders[r]) * (4 * d + header));
    EXPECT_EQ(ma.bytes_down[r], static_cast<uint64_t>(P - 1) * 4 * d);
    EXPECT_EQ(mf.coefficients[r].size(), static_cast<size_t>(ferret_job.k));
  }
}

TEST(Federated, NormAllocationAddsOneBlockNormExchange) {
  Config c = small_job(fresh_dir("norm"));
  c.rounds = 1;
  const RunSummary s = run(c);
  if (!is_root()) return;
  const MetricsData m = read_metrics(s.metrics_path);
  const auto L = static_cast<uint64_t>(m.attrs.num_blocks);
  ASSERT_EQ(m.allocation[0].size(), L);
  int64_t sum = 0;
  for (int32_t k : m.allocation[0]) {
    sum += k;
    EXPECT_GE(k, 1);
  }
  EXPECT_EQ(sum, c.k);
  const uint64_t senders = m.senders[0];
  EXPECT_EQ(m.bytes_up[0], senders * (4 * c.k + UploadHeader::kFloats * 4) + senders * 4 * L);
}

TEST(Federated, ResumeIsBitIdentical) {
  Config straight = small_job(fresh_dir("straight"));
  straight.rounds = 4;
  run(straight);
  const auto [second, s] = run_in_two_jobs(straight, fresh_dir("resumed"), 2);
  EXPECT_EQ(s.rounds_done, 4);
  if (!is_root()) return;
  const auto a = final_params(straight.out, 4), b = final_params(second.out, 4);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  const MetricsData ma = read_metrics((fs::path(straight.out) / "metrics.h5").string());
  const MetricsData mb = read_metrics(s.metrics_path);
  EXPECT_EQ(ma.eval_loss, mb.eval_loss);
  EXPECT_EQ(ma.coefficients, mb.coefficients);
}

// FedKSeed (zeroth order): K scalar gradients up per sending rank, replicas that replay the same
// seeds stay identical, and the model learns.
Config fedkseed_job(const std::string& out) {
  Config c = small_job(out, "fedkseed");
  c.k = 64;
  c.local_steps = 60;
  c.batch_size = 16;
  c.lr = 2e-3;
  c.zo_eps = 1e-3;
  c.verify_every = 1;
  return c;
}

TEST(Federated, FedKSeedSendsKScalarsAndLowersEvalLoss) {
  const Config c = fedkseed_job(fresh_dir("fedkseed"));
  const RunSummary s = run(c);
  EXPECT_EQ(s.rounds_done, c.rounds);
  if (!is_root()) return;
  EXPECT_LT(s.final_eval_loss, s.initial_eval_loss - 0.01)
      << "initial " << s.initial_eval_loss << " final " << s.final_eval_loss;
  const MetricsData m = read_metrics(s.metrics_path);
  for (size_t r = 0; r < m.bytes_up.size(); ++r) {
    EXPECT_EQ(m.bytes_up[r], static_cast<uint64_t>(m.senders[r]) * (4 * c.k + UploadHeader::kFloats * 4));
    ASSERT_EQ(m.coefficients[r].size(), static_cast<size_t>(c.k));
    const auto nonzero = std::count_if(m.coefficients[r].begin(), m.coefficients[r].end(), [](float g) { return g != 0; });
    EXPECT_GT(nonzero, 0);  // some seeds were used ...
    EXPECT_LE(nonzero, c.num_clients * c.local_steps);  // ... at most one per local step
  }
}

TEST(Federated, FedKSeedProResumeIsBitIdentical) {
  Config straight = fedkseed_job(fresh_dir("fks_straight"));
  straight.fedkseed_pro = true;
  straight.local_steps = 10;
  run(straight);
  const Config second = run_in_two_jobs(straight, fresh_dir("fks_resumed"), 2).first;
  if (!is_root()) return;
  const auto a = final_params(straight.out, straight.rounds), b = final_params(second.out, straight.rounds);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(Federated, StopSignalCheckpointsAndResumeIsBitIdentical) {
  Config straight = small_job(fresh_dir("signal_straight"));
  run(straight);
  Config job = straight;
  job.out = fresh_dir("signal_preempted");
  install_stop_handlers();
  if (world_size() > 1 && !is_root()) std::raise(SIGUSR1);  // one client rank is told to stop
  if (world_size() == 1) std::raise(SIGUSR1);
  const RunSummary first = run(job);
  clear_stop_request();
  EXPECT_TRUE(first.preempted);
  EXPECT_EQ(first.rounds_done, 1);  // every rank stops after the same round
  job.resume = "auto";
  const RunSummary second = run(job);
  EXPECT_FALSE(second.preempted);
  EXPECT_EQ(second.rounds_done, job.rounds);
  if (!is_root()) return;
  const auto a = final_params(straight.out, straight.rounds), b = final_params(job.out, job.rounds);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(Federated, BrokenClientUpdatesAreDroppedAndTheModelStaysFinite) {
  for (const char* fault : {"nan", "huge"}) {
    Config c = small_job(fresh_dir(std::string("fault_") + fault));
    c.rounds = 2;
    c.inject_fault = parse_choice<FaultKind>("inject-fault", fault);
    c.inject_fault_client = 1;
    Comm comm;
    std::ostringstream log;
    const RunSummary s = run_federated(c, comm, log);
    EXPECT_EQ(s.rounds_done, 2);
    if (!is_root()) continue;
    EXPECT_NE(log.str().find("| dropped 1"), std::string::npos) << log.str();
    EXPECT_TRUE(std::isfinite(s.final_eval_loss));
    for (float x : final_params(c.out, 2)) ASSERT_TRUE(std::isfinite(x));
  }
}

// Expects a ConfigError on every rank (so no rank is left waiting in a collective).
void expect_config_error_everywhere(const Config& c, const std::string& fragment) {
  bool threw = false;
  std::string what;
  try {
    run(c);
  } catch (const ConfigError& e) {
    threw = true;
    what = e.what();
  }
  EXPECT_TRUE(threw);
  if (is_root()) EXPECT_NE(what.find(fragment), std::string::npos) << what;
  MPI_Barrier(MPI_COMM_WORLD);  // reached by every rank: nobody hangs
}

TEST(Federated, BadSetupsFailOnEveryRank) {
  Config c = small_job(fresh_dir("refuse"));
  c.rounds = 1;
  run(c);
  expect_config_error_everywhere(c, "is not empty");  // existing output without --overwrite
  Config resume_missing = small_job(fresh_dir("no_ckpt"));
  resume_missing.resume = "auto";
  expect_config_error_everywhere(resume_missing, "no checkpoint");
  Config small_k = small_job(fresh_dir("small_k"));
  small_k.k = 2;
  expect_config_error_everywhere(small_k, "--k = 2");
  Config corrupt = c;  // an unreadable checkpoint named by path
  corrupt.resume = (fs::path(c.out) / "checkpoints" / "garbage.h5").string();
  if (is_root()) std::ofstream(corrupt.resume) << "not an HDF5 file";
  MPI_Barrier(MPI_COMM_WORLD);
  expect_config_error_everywhere(corrupt, "garbage.h5");
  Config unwritable = small_job("/proc/ferret_cannot_write_here");
  expect_config_error_everywhere(unwritable, "/proc/ferret_cannot_write_here");
  Config other_model = c;  // a checkpoint of a different model
  other_model.resume = "auto";
  other_model.model.intermediate_size = 96;
  expect_config_error_everywhere(other_model, "--intermediate-size = 96 differs from the run in");
  Config other_seed = c;
  other_seed.resume = "auto";
  other_seed.seed = c.seed + 1;
  expect_config_error_everywhere(other_seed, "seed");
}

TEST(Federated, NaturalInstructionsTasksAsClients) {
  const std::string tasks = std::string(FERRET_SHARED_DIR) + "/data/natural-instructions/tasks";
  if (!fs::is_directory(tasks)) GTEST_SKIP() << "shared NI data not found at " << tasks;
  Config c = small_job(fresh_dir("ni"));
  c.data.source = DataSource::ni;
  c.data.data_dir = tasks;
  c.data.max_instances_per_task = 40;
  c.num_clients = 11;
  c.rounds = 2;
  c.model.max_seq_len = 256;
  validate_config(c);
  const RunSummary s = run(c);
  if (!is_root()) return;
  EXPECT_LT(s.final_eval_loss, s.initial_eval_loss);
  EXPECT_EQ(read_metrics(s.metrics_path).attrs.num_clients, 11);
}

TEST(Federated, OverwriteReplacesAPreviousRun) {
  Config c = small_job(fresh_dir("overwrite"));
  c.rounds = 1;
  run(c);
  c.overwrite = true;
  c.rounds = 2;
  const RunSummary s = run(c);
  if (!is_root()) return;
  EXPECT_EQ(read_metrics(s.metrics_path).train_loss.size(), 2u);
}

}  // namespace

namespace {

// Buffers larger than one MPI message (2^31 bytes in production, a few floats here) are sent in
// pieces; sums and broadcasts must come out exactly as one message would give them.
TEST(Comm, ChunkedReduceAndBroadcastEqualOneMessage) {
  ferret::Comm comm;
  comm.set_max_message_bytes(7 * sizeof(float));  // 103 floats → 15 messages, the last one short
  const int P = comm.size();
  std::vector<float> buf(103);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(comm.rank() * 1000 + i);
  const std::vector<bool> everyone(P, true);
  comm.reduce_sum_to_root(buf, everyone);
  if (comm.is_root())
    for (size_t i = 0; i < buf.size(); ++i)
      ASSERT_EQ(buf[i], static_cast<float>(1000 * P * (P - 1) / 2 + P * static_cast<int>(i))) << "at " << i;
  std::vector<float> step(103, 0.0f);
  if (comm.is_root())
    for (size_t i = 0; i < step.size(); ++i) step[i] = static_cast<float>(i) * 0.5f;
  comm.broadcast_from_root(step);
  for (size_t i = 0; i < step.size(); ++i) ASSERT_EQ(step[i], static_cast<float>(i) * 0.5f) << "at " << i;
  EXPECT_EQ(comm.traffic().up, 103u * sizeof(float));  // bytes are the payload's, however many messages
  EXPECT_THROW(comm.set_max_message_bytes(2), std::invalid_argument);
}

}  // namespace

// ---- client-level differential privacy (--dp-clip) ------------------------------------------------

namespace {

Config private_job(const std::string& out, const std::string& algorithm = "ferret") {
  Config c = small_job(out, algorithm);
  c.allocation = Allocation::uniform;
  c.participation = 0.5;
  c.dp_clip = 5.0;
  c.dp_noise_multiplier = 1.0;
  c.dp_delta = 1e-5;
  c.rouge_samples = 0;
  validate_config(c);
  return c;
}

}  // namespace

TEST(Federated, PrivateRunsReportTheAccountantsEpsilonEveryRound) {
  for (const char* algorithm : {"ferret", "fedavg", "fedkseed"}) {
    Config c = private_job(fresh_dir(std::string("dp_") + algorithm), algorithm);
    c.verify_every = 1;  // the noise is drawn once, on rank 0: replicas must still agree bit for bit
    const RunSummary s = run(c);
    EXPECT_EQ(s.rounds_done, c.rounds) << algorithm;
    if (!is_root()) continue;
    const MetricsData m = read_metrics(s.metrics_path);
    RdpAccountant expected;
    for (int64_t r = 0; r < c.rounds; ++r) {
      expected.compose(0.5, 1.0);
      EXPECT_EQ(m.dp_epsilon.at(static_cast<size_t>(r)), expected.epsilon(1e-5)) << algorithm << " round " << r + 1;
    }
    for (float x : final_params(c.out, c.rounds)) ASSERT_TRUE(std::isfinite(x)) << algorithm;
  }
}

TEST(Federated, APrivateRunWithoutPrivacyRecordsNaN) {
  const Config c = small_job(fresh_dir("no_dp"));
  const RunSummary s = run(c);
  if (!is_root()) return;
  for (double e : read_metrics(s.metrics_path).dp_epsilon) EXPECT_TRUE(std::isnan(e));
}

TEST(Federated, ClippingBoundsEveryStep) {
  // Without noise and with C = 1e-6, no client can move the model by more than C·(clients)/(qN).
  Config c = private_job(fresh_dir("dp_tiny_clip"));
  c.dp_clip = 1e-6;
  c.dp_noise_multiplier = 0.0;
  c.rounds = 2;
  run(c);
  if (!is_root()) return;
  const MetricsData m = read_metrics((fs::path(c.out) / "metrics.h5").string());
  for (const auto& row : m.coefficients) {  // the applied step, in the payload space it was clipped in
    double sq = 0;
    for (float x : row) sq += static_cast<double>(x) * x;
    EXPECT_LE(std::sqrt(sq), 1e-6 * c.num_clients / (0.5 * c.num_clients) * 1.0001);
  }
  EXPECT_TRUE(std::isinf(m.dp_epsilon.back()));  // no noise, no privacy
}

TEST(Federated, AResumedPrivateRunReportsTheSameEpsilon) {
  Config straight = private_job(fresh_dir("dp_straight"));
  run(straight);
  const Config second = run_in_two_jobs(straight, fresh_dir("dp_resumed"), 2).first;
  if (!is_root()) return;
  const MetricsData a = read_metrics((fs::path(straight.out) / "metrics.h5").string());
  const MetricsData b = read_metrics((fs::path(second.out) / "metrics.h5").string());
  EXPECT_EQ(a.dp_epsilon, b.dp_epsilon);
  EXPECT_FALSE(read_checkpoint((fs::path(second.out) / "checkpoints" / checkpoint_name(4)).string()).privacy_rdp.empty());
}

TEST(Federated, TheTargetEpsilonStopsTheRunBeforeItIsPassed) {
  RdpAccountant a;
  a.compose(0.5, 1.0, 2);
  const double after_two = a.epsilon(1e-5);
  Config c = private_job(fresh_dir("dp_target"));
  c.dp_target_epsilon = after_two * 1.01;  // round 3 would pass it
  const RunSummary s = run(c);
  EXPECT_EQ(s.rounds_done, 2);
  if (is_root()) {
    EXPECT_TRUE(fs::exists(fs::path(c.out) / "checkpoints" / checkpoint_name(2)));
    EXPECT_LE(read_metrics(s.metrics_path).dp_epsilon.back(), c.dp_target_epsilon);
  }
  Config too_small = private_job(fresh_dir("dp_target_small"));
  too_small.dp_target_epsilon = 0.01;
  expect_config_error_everywhere(too_small, "--dp-target-epsilon = 0.01: round 1 would take epsilon to");
  if (is_root()) EXPECT_FALSE(fs::exists(fs::path(too_small.out) / "metrics.h5"));
}

TEST(Federated, SecureAggregationGivesTheSameRunUpToFloatRounding) {
  // z = 0 and q = 1 make the DP run deterministic, so the masked and the plain reduce can be compared.
  Config plain = private_job(fresh_dir("sa_plain"));
  plain.participation = 1.0;
  plain.dp_noise_multiplier = 0.0;
  plain.dp_clip = 0.05;
  Config masked = plain;
  masked.out = fresh_dir("sa_masked");
  masked.secure_aggregation = true;
  masked.verify_every = 1;
  const RunSummary a = run(plain), b = run(masked);
  if (!is_root()) return;
  // The exact integer sum is rounded to float once; MPI's float reduce rounds at every addition.
  EXPECT_NEAR(b.final_eval_loss, a.final_eval_loss, 1e-4 * a.final_eval_loss);
  const auto x = final_params(plain.out, plain.rounds), y = final_params(masked.out, masked.rounds);
  ASSERT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(x[i] - y[i])));
  EXPECT_LE(worst, 1e-5);
  const MetricsData m = read_metrics(b.metrics_path);
  const auto senders = static_cast<uint64_t>(m.senders[0]);
  EXPECT_EQ(m.bytes_up[0], senders * 8 * (m.attrs.k + UploadHeader::kFloats));  // uint64 fixed point
}

TEST(Federated, SecureAggregationWithNoiseResumes) {
  Config c = private_job(fresh_dir("sa_noise"));
  c.secure_aggregation = true;
  const auto [resumed, s] = run_in_two_jobs(c, c.out, 2);
  EXPECT_EQ(s.rounds_done, c.rounds);
  if (!is_root()) return;
  for (float v : final_params(resumed.out, c.rounds)) ASSERT_TRUE(std::isfinite(v));
}
