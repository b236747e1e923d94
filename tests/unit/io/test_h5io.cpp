// Tests of io/ (metrics_file, checkpoint_file, checksum): metrics.h5 round trips, resume,
// checkpoints (atomicity, corruption), naming, and the checksum algorithm's pinned values.
#include "io/checkpoint_file.hpp"
#include "io/checksum.hpp"
#include "io/metrics_file.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ferret;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// A fresh directory per test, removed afterwards.
class H5ioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("ferret_h5io_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

// A config text of several KB with newlines and non-ASCII, as to_ini() might produce.
std::string long_config() {
  std::string text = "# resolved config — ünïcode\n";
  for (int i = 0; i < 400; ++i) text += "option_" + std::to_string(i) + " = value " + std::to_string(i * 7) + "\n";
  return text;
}

RunAttributes make_attrs(int64_t k, int64_t num_clients, int64_t num_blocks) {
  RunAttributes a;
  a.algorithm = k > 0 ? "ferret" : "fedavg";
  a.k = k;
  a.num_clients = num_clients;
  a.ranks = 3;
  a.rounds = 10;
  a.seed = 1234567890123LL;
  a.num_params = 987654;
  a.num_blocks = num_blocks;
  a.config = long_config();
  a.version = "0.1.0";
  return a;
}

// Distinct, recognisable values for round `r` (`tag` tells a first run from a resumed one).
RoundRecord make_round(int r, const RunAttributes& a, double tag = 0) {
  RoundRecord rec;
  rec.eval_loss = 2.0 - 0.1 * r + tag;
  rec.train_loss = 2.5 - 0.2 * r + tag;
  rec.rouge_l = r % 2 == 0 ? 0.25 + 0.01 * r : kNaN;
  rec.bytes_up = 1000u + static_cast<uint64_t>(r) + static_cast<uint64_t>(tag);
  rec.bytes_down = (1ULL << 40) + static_cast<uint64_t>(r);  // above 2^32: needs the 64 bits
  rec.bytes_control = 17u * static_cast<uint64_t>(r);
  rec.participants = 4 + r;
  rec.senders = -r;  // signed
  rec.time_local = 1.5 * r;
  rec.time_project = 0.125 * r;
  rec.time_comm = 0.5 + r;
  rec.time_reconstruct = 0.0625 * r;
  rec.time_round = 3.0 * r + tag;
  rec.time_eval = 0.125 * r + tag;
  rec.time_wait = 0.25 * r + tag;
  for (int64_t i = 0; i < a.k; ++i) rec.coefficients.push_back(static_cast<float>(r * 100 + i) * 0.5f);
  for (int64_t c = 0; c < a.num_clients; ++c)
    rec.client_train_loss.push_back(c % 3 == 1 ? kNaNf : static_cast<float>(r + c) / 8.0f + static_cast<float>(tag));
  for (int64_t b = 0; b < a.num_blocks; ++b) rec.allocation.push_back(static_cast<int32_t>(r + b + 1));
  return rec;
}

// NaN == NaN here: "not evaluated" must come back as not evaluated.
void expect_same(double want, double got, const std::string& what) {
  if (std::isnan(want)) EXPECT_TRUE(std::isnan(got)) << what;
  else EXPECT_EQ(want, got) << what;
}
void expect_same_row(const std::vector<float>& want, const std::vector<float>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << what << "[" << i << "]";
    else EXPECT_EQ(want[i], got[i]) << what << "[" << i << "]";
  }
}

void expect_attrs_equal(const RunAttributes& want, const RunAttributes& got) {
  EXPECT_EQ(want.algorithm, got.algorithm);
  EXPECT_EQ(want.k, got.k);
  EXPECT_EQ(want.num_clients, got.num_clients);
  EXPECT_EQ(want.ranks, got.ranks);
  EXPECT_EQ(want.rounds, got.rounds);
  EXPECT_EQ(want.seed, got.seed);
  EXPECT_EQ(want.num_params, got.num_params);
  EXPECT_EQ(want.num_blocks, got.num_blocks);
  EXPECT_EQ(want.config, got.config);
  EXPECT_EQ(want.version, got.version);
}

// Row `i` of the file must hold `want`.
void expect_round_equal(const MetricsData& m, size_t i, const RoundRecord& want) {
  const std::string at = "round " + std::to_string(i);
  expect_same(want.eval_loss, m.eval_loss.at(i + 1), at + " eval_loss");
  expect_same(want.train_loss, m.train_loss.at(i), at + " train_loss");
  expect_same(want.rouge_l, m.rouge_l.at(i), at + " rouge_l");
  EXPECT_EQ(want.bytes_up, m.bytes_up.at(i)) << at;
  EXPECT_EQ(want.bytes_down, m.bytes_down.at(i)) << at;
  EXPECT_EQ(want.bytes_control, m.bytes_control.at(i)) << at;
  EXPECT_EQ(want.participants, m.participants.at(i)) << at;
  EXPECT_EQ(want.senders, m.senders.at(i)) << at;
  EXPECT_EQ(want.time_local, m.time_local.at(i)) << at;
  EXPECT_EQ(want.time_project, m.time_project.at(i)) << at;
  EXPECT_EQ(want.time_comm, m.time_comm.at(i)) << at;
  EXPECT_EQ(want.time_reconstruct, m.time_reconstruct.at(i)) << at;
  EXPECT_EQ(want.time_round, m.time_round.at(i)) << at;
  EXPECT_EQ(want.time_eval, m.time_eval.at(i)) << at;
  EXPECT_EQ(want.time_wait, m.time_wait.at(i)) << at;
  expect_same_row(want.coefficients, m.coefficients.at(i), at + " coefficients");
  expect_same_row(want.client_train_loss, m.client_train_loss.at(i), at + " client_train_loss");
  EXPECT_EQ(want.allocation, m.allocation.at(i)) << at;
}

void expect_round_count(const MetricsData& m, size_t rounds) {
  EXPECT_EQ(m.eval_loss.size(), rounds + 1);
  for (const auto* v : {&m.train_loss, &m.rouge_l, &m.time_local, &m.time_project, &m.time_comm, &m.time_reconstruct,
                        &m.time_round, &m.time_eval, &m.time_wait})
    EXPECT_EQ(v->size(), rounds);
  for (const auto* v : {&m.bytes_up, &m.bytes_down, &m.bytes_control}) EXPECT_EQ(v->size(), rounds);
  EXPECT_EQ(m.participants.size(), rounds);
  EXPECT_EQ(m.senders.size(), rounds);
  EXPECT_EQ(m.coefficients.size(), rounds);
  EXPECT_EQ(m.client_train_loss.size(), rounds);
  EXPECT_EQ(m.allocation.size(), rounds);
}

bool hdf5_link_exists(const std::string& file, const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0);
  const bool exists = H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0;
  H5Fclose(f);
  return exists;
}

void hdf5_delete_link(const std::string& file, const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0);
  H5Fclose(f);
}

// Expects `fn` to throw a runtime_error whose message contains every one of `parts`.
template <class F>
void expect_error_mentions(F&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("h5io: ", 0), 0u) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

std::string read_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const std::string& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---- metrics -----------------------------------------------------------------------------------

TEST_F(H5ioTest, MetricsRoundTripKeepsEveryField) {
  const RunAttributes attrs = make_attrs(/*k=*/4, /*num_clients=*/5, /*num_blocks=*/3);
  std::vector<RoundRecord> rounds;
  {
    MetricsWriter w = MetricsWriter::create(path("metrics.h5"), attrs);
    w.write_initial_eval_loss(3.25);
    w.write_initial_rouge_l(0.125);
    for (int r = 0; r < 3; ++r) {
      rounds.push_back(make_round(r, attrs));
      w.append_round(rounds.back());
    }
    EXPECT_EQ(w.rounds_written(), 3);
    w.close();
  }
  const MetricsData m = read_metrics(path("metrics.h5"));
  expect_attrs_equal(attrs, m.attrs);
  expect_round_count(m, 3);
  EXPECT_EQ(m.eval_loss.at(0), 3.25);
  EXPECT_EQ(m.initial_rouge_l, 0.125);
  for (size_t i = 0; i < rounds.size(); ++i) expect_round_equal(m, i, rounds[i]);
  EXPECT_TRUE(std::isnan(m.rouge_l.at(1)));              // not evaluated in round 1
  EXPECT_TRUE(std::isnan(m.client_train_loss.at(0).at(1)));  // client 1 not selected
}

TEST_F(H5ioTest, MetricsWithoutCoefficientsOrBlocksOmitsThoseDatasets) {
  const RunAttributes attrs = make_attrs(/*k=*/0, /*num_clients=*/2, /*num_blocks=*/0);
  {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
    w.write_initial_eval_loss(1.0);
    w.append_round(make_round(0, attrs));
    w.append_round(make_round(1, attrs));
  }  // the destructor closes
  EXPECT_FALSE(hdf5_link_exists(path("m.h5"), "/coefficients"));
  EXPECT_FALSE(hdf5_link_exists(path("m.h5"), "/allocation"));
  EXPECT_TRUE(hdf5_link_exists(path("m.h5"), "/clients/train_loss"));
  const MetricsData m = read_metrics(path("m.h5"));
  expect_round_count(m, 2);
  EXPECT_TRUE(std::isnan(m.initial_rouge_l));  // never written: NaN
  EXPECT_TRUE(m.coefficients.at(1).empty());
  EXPECT_TRUE(m.allocation.at(1).empty());
  expect_round_equal(m, 1, make_round(1, attrs));
}

TEST_F(H5ioTest, EvalLossEntryZeroIsNaNUntilWritten) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
    w.append_round(make_round(0, attrs));
  }
  const MetricsData m = read_metrics(path("m.h5"));
  ASSERT_EQ(m.eval_loss.size(), 2u);
  EXPECT_TRUE(std::isnan(m.eval_loss[0]));
}

TEST_F(H5ioTest, CreateRefusesAnExistingPath) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  { MetricsWriter::create(path("m.h5"), attrs).append_round(make_round(0, attrs)); }
  expect_error_mentions([&] { MetricsWriter::create(path("m.h5"), attrs); }, {path("m.h5"), "already exists"});
  EXPECT_EQ(read_metrics(path("m.h5")).train_loss.size(), 1u);  // untouched

  write_bytes(path("other.txt"), "not mine");
  EXPECT_THROW(MetricsWriter::create(path("other.txt"), attrs), std::runtime_error);
  EXPECT_EQ(read_bytes(path("other.txt")), "not mine");
}

TEST_F(H5ioTest, AppendRejectsRowsOfTheWrongWidth) {
  const RunAttributes attrs = make_attrs(4, 3, 2);
  MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
  RoundRecord bad = make_round(0, attrs);
  bad.coefficients.pop_back();
  expect_error_mentions([&] { w.append_round(bad); }, {path("m.h5"), "/coefficients"});
  EXPECT_EQ(w.rounds_written(), 0);
  w.append_round(make_round(0, attrs));  // still usable
  w.close();
  EXPECT_EQ(read_metrics(path("m.h5")).train_loss.size(), 1u);
}

TEST_F(H5ioTest, ResumeTruncatesToCompletedRoundsThenAppends) {
  RunAttributes attrs = make_attrs(3, 4, 2);
  {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
    w.write_initial_eval_loss(9.0);
    for (int r = 0; r < 5; ++r) w.append_round(make_round(r, attrs));
  }
  attrs.rounds = 12;  // the resumed run may go further, with another config text
  attrs.ranks = 2;
  attrs.config += "rounds = 12\n";
  {
    MetricsWriter w = MetricsWriter::resume(path("m.h5"), attrs, /*completed_rounds=*/3);
    EXPECT_EQ(w.rounds_written(), 3);
    EXPECT_EQ(read_metrics(path("m.h5")).train_loss.size(), 3u);  // truncated before anything is appended
    w.append_round(make_round(3, attrs, /*tag=*/100));
    w.append_round(make_round(4, attrs, /*tag=*/100));
  }
  const MetricsData m = read_metrics(path("m.h5"));
  RunAttributes want = attrs;  // /config stays the one the run started with; rounds and ranks follow the resume
  want.config = make_attrs(3, 4, 2).config;
  expect_attrs_equal(want, m.attrs);
  ASSERT_EQ(m.config_history.size(), 1u);  // config_changed = false: nothing recorded
  EXPECT_EQ(m.config_history[0].from_round, 1);
  EXPECT_EQ(m.config_history[0].config, want.config);
  expect_round_count(m, 5);
  EXPECT_EQ(m.eval_loss.at(0), 9.0);
  for (int r = 0; r < 3; ++r) expect_round_equal(m, static_cast<size_t>(r), make_round(r, attrs));
  for (int r = 3; r < 5; ++r) expect_round_equal(m, static_cast<size_t>(r), make_round(r, attrs, 100));
}

TEST_F(H5ioTest, ConfigHistoryRecordsTheRoundEachChangedConfigTookEffect) {
  const RunAttributes first = make_attrs(3, 4, 2);
  {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), first);
    for (int r = 0; r < 4; ++r) w.append_round(make_round(r, first));
  }
  ASSERT_EQ(read_metrics(path("m.h5")).config_history.size(), 1u);
  RunAttributes second = first;
  second.config += "lr = 0.5\n";
  { MetricsWriter::resume(path("m.h5"), second, /*completed_rounds=*/2, /*config_changed=*/true); }
  RunAttributes third = first;
  third.config += "local-steps = 7\n";
  // Resumed again from the same checkpoint: the third replaces the second (both from round 3).
  { MetricsWriter::resume(path("m.h5"), third, 2, true).append_round(make_round(2, third)); }
  { MetricsWriter::resume(path("m.h5"), second, 3, true); }  // and back to the second from round 4
  MetricsData m = read_metrics(path("m.h5"));
  EXPECT_EQ(m.attrs.config, first.config);
  ASSERT_EQ(m.config_history.size(), 3u);
  EXPECT_EQ(m.config_history[0].from_round, 1);
  EXPECT_EQ(m.config_history[0].config, first.config);
  EXPECT_EQ(m.config_history[1].from_round, 3);
  EXPECT_EQ(m.config_history[1].config, third.config);
  EXPECT_EQ(m.config_history[2].from_round, 4);
  EXPECT_EQ(m.config_history[2].config, second.config);
  // Resuming from an earlier checkpoint drops the segments of the rounds it redoes.
  { MetricsWriter::resume(path("m.h5"), first, 2); }
  m = read_metrics(path("m.h5"));
  ASSERT_EQ(m.config_history.size(), 1u);
  EXPECT_EQ(m.config_history[0].config, first.config);
}

TEST_F(H5ioTest, SchemaThreeFilesAreReadAndUpgradedOnResume) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  { MetricsWriter::create(path("v3.h5"), attrs).append_round(make_round(0, attrs)); }
  {  // what ferret wrote before /config_history existed
    const hid_t f = H5Fopen(path("v3.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    ASSERT_GE(H5Ldelete(f, "/config_history", H5P_DEFAULT), 0);
    const hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    const int64_t v = 3;
    ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
    H5Aclose(a);
    H5Fclose(f);
  }
  MetricsData m = read_metrics(path("v3.h5"));
  ASSERT_EQ(m.config_history.size(), 1u);
  EXPECT_EQ(m.config_history[0].from_round, 1);
  EXPECT_EQ(m.config_history[0].config, attrs.config);
  RunAttributes changed = attrs;
  changed.config += "lr = 2\n";
  { MetricsWriter::resume(path("v3.h5"), changed, 1, true); }
  m = read_metrics(path("v3.h5"));
  ASSERT_EQ(m.config_history.size(), 2u);
  EXPECT_EQ(m.config_history[0].config, attrs.config);
  EXPECT_EQ(m.config_history[1].from_round, 2);
  EXPECT_EQ(m.config_history[1].config, changed.config);
}

TEST_F(H5ioTest, ResumeAtRoundZeroKeepsOnlyTheInitialEvalLoss) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
    w.write_initial_eval_loss(4.0);
    w.append_round(make_round(0, attrs));
  }
  { MetricsWriter::resume(path("m.h5"), attrs, 0); }
  const MetricsData m = read_metrics(path("m.h5"));
  expect_round_count(m, 0);
  EXPECT_EQ(m.eval_loss.at(0), 4.0);
}

TEST_F(H5ioTest, ResumeRejectsMismatchedAttributesAndMissingRounds) {
  const RunAttributes attrs = make_attrs(3, 4, 2);
  {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
    w.write_initial_eval_loss(1.0);
    w.append_round(make_round(0, attrs));
    w.append_round(make_round(1, attrs));
  }
  RunAttributes other_k = attrs;
  other_k.k = 5;
  expect_error_mentions([&] { MetricsWriter::resume(path("m.h5"), other_k, 1); }, {path("m.h5"), "'k'", "3", "5"});
  RunAttributes other_clients = attrs;
  other_clients.num_clients = 8;
  expect_error_mentions([&] { MetricsWriter::resume(path("m.h5"), other_clients, 1); }, {"'num_clients'"});
  RunAttributes other_blocks = attrs;
  other_blocks.num_blocks = 1;
  expect_error_mentions([&] { MetricsWriter::resume(path("m.h5"), other_blocks, 1); }, {"'num_blocks'"});
  expect_error_mentions([&] { MetricsWriter::resume(path("m.h5"), attrs, 3); }, {path("m.h5"), "completed rounds"});
  expect_error_mentions([&] { MetricsWriter::resume(path("missing.h5"), attrs, 0); }, {path("missing.h5"), "no such file"});
  EXPECT_EQ(read_metrics(path("m.h5")).train_loss.size(), 2u);  // failed resumes changed nothing
}

// A job killed right after a round keeps that round: every append is flushed.
TEST_F(H5ioTest, RoundsSurviveAKilledWriter) {
  const RunAttributes attrs = make_attrs(2, 3, 1);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    MetricsWriter w = MetricsWriter::create(path("m.h5"), attrs);
    w.write_initial_eval_loss(5.0);
    w.append_round(make_round(0, attrs));
    w.append_round(make_round(1, attrs));
    ::raise(SIGKILL);  // no destructor, no close
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  const MetricsData m = read_metrics(path("m.h5"));
  expect_round_count(m, 2);
  expect_round_equal(m, 1, make_round(1, attrs));
  // and the run can go on from there
  { MetricsWriter::resume(path("m.h5"), attrs, 2).append_round(make_round(2, attrs)); }
  expect_round_count(read_metrics(path("m.h5")), 3);
}

TEST_F(H5ioTest, ReadMetricsNamesAMissingDataset) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  { MetricsWriter::create(path("m.h5"), attrs).append_round(make_round(0, attrs)); }
  hdf5_delete_link(path("m.h5"), "/rounds/senders");
  expect_error_mentions([&] { read_metrics(path("m.h5")); }, {path("m.h5"), "dataset '/rounds/senders'"});
}

// ---- checkpoints -------------------------------------------------------------------------------

Checkpoint make_checkpoint(int64_t round, float offset = 0) {
  Checkpoint c;
  c.round = round;
  c.seed = 0xfedcba9876543210ULL;  // above INT64_MAX: must stay unsigned
  c.algorithm = "ferret";
  c.config = long_config();
  auto tensor = [&](std::string name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    TensorEntry t{std::move(name), std::move(shape), {}};
    for (size_t i = 0; i < n; ++i) t.data.push_back(static_cast<float>(i) * 0.25f - 3.0f + offset);
    return t;
  };
  // Not in alphabetical order: the order must come from the file, not from HDF5's name index.
  c.params.push_back(tensor("model.layers.1.self_attn.q_proj.weight", {16, 8}));
  c.params.push_back(tensor("model.embed_tokens.weight", {32, 8}));
  c.params.push_back(tensor("model.layers.0.mlp.down_proj.weight", {8, 4, 2}));
  c.params.push_back(tensor("model.norm.weight", {8}));
  c.params.push_back(tensor("scalar", {}));
  c.params.push_back(tensor("empty.buffer", {0, 3}));
  c.params[3].data[2] = -0.0f;
  c.params[3].data[5] = kNaNf;
  for (int i = 0; i < 100; ++i) c.server_momentum.push_back(0.001f * static_cast<float>(i) + offset);
  return c;
}

void expect_checkpoints_equal(const Checkpoint& want, const Checkpoint& got) {
  EXPECT_EQ(want.round, got.round);
  EXPECT_EQ(want.seed, got.seed);
  EXPECT_EQ(want.algorithm, got.algorithm);
  EXPECT_EQ(want.config, got.config);
  ASSERT_EQ(want.params.size(), got.params.size());
  for (size_t i = 0; i < want.params.size(); ++i) {
    EXPECT_EQ(want.params[i].name, got.params[i].name) << i;
    EXPECT_EQ(want.params[i].shape, got.params[i].shape) << i;
    ASSERT_EQ(want.params[i].data.size(), got.params[i].data.size()) << i;
    for (size_t j = 0; j < want.params[i].data.size(); ++j)  // bit for bit: -0.0 and NaN too
      EXPECT_EQ(std::bit_cast<uint32_t>(want.params[i].data[j]), std::bit_cast<uint32_t>(got.params[i].data[j]));
  }
  EXPECT_EQ(want.server_momentum, got.server_momentum);
  EXPECT_EQ(want.server_state_extra, got.server_state_extra);
}

TEST_F(H5ioTest, CheckpointRoundTripKeepsOrderShapesAndState) {
  Checkpoint c = make_checkpoint(12);
  c.server_state_extra = {1.0f, 2.0f, 3.0f};
  write_checkpoint(path("ck.h5"), c);
  const Checkpoint back = read_checkpoint(path("ck.h5"));
  expect_checkpoints_equal(c, back);
  EXPECT_EQ(back.params_checksum, checksum_params(c.params));
  EXPECT_TRUE(back.params[4].shape.empty());  // scalar stays a scalar
  EXPECT_EQ(back.params[5].shape, (std::vector<int64_t>{0, 3}));
}

TEST_F(H5ioTest, CheckpointWithEmptyServerState) {
  Checkpoint c = make_checkpoint(0);
  c.server_momentum.clear();
  c.algorithm = "fedavg";
  c.config.clear();  // empty strings survive too
  write_checkpoint(path("ck.h5"), c);
  expect_checkpoints_equal(c, read_checkpoint(path("ck.h5")));
}

TEST_F(H5ioTest, WriteCheckpointOverwritesAtomicallyAndLeavesNoTempFile) {
  const Checkpoint first = make_checkpoint(1), second = make_checkpoint(2, /*offset=*/10);
  write_checkpoint(path("ck.h5"), first);
  write_checkpoint(path("ck.h5"), second);
  expect_checkpoints_equal(second, read_checkpoint(path("ck.h5")));
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"ck.h5"});

  // A write that fails leaves the old checkpoint whole and no temp file behind.
  Checkpoint bad = make_checkpoint(3);
  bad.params[0].shape = {3, 3};  // does not match the data
  expect_error_mentions([&] { write_checkpoint(path("ck.h5"), bad); }, {path("ck.h5"), bad.params[0].name});
  Checkpoint dup = make_checkpoint(3);
  dup.params[1].name = dup.params[0].name;
  expect_error_mentions([&] { write_checkpoint(path("ck.h5"), dup); }, {"appears twice"});
  Checkpoint slash = make_checkpoint(3);
  slash.params[1].name = "model/embed";
  expect_error_mentions([&] { write_checkpoint(path("ck.h5"), slash); }, {"model/embed"});
  Checkpoint nul = make_checkpoint(3);
  nul.config.push_back('\0');
  expect_error_mentions([&] { write_checkpoint(path("ck.h5"), nul); }, {path("ck.h5") + ".tmp.", "NUL"});
  expect_checkpoints_equal(second, read_checkpoint(path("ck.h5")));
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"ck.h5"});

  // An unwritable destination: error, nothing left.
  expect_error_mentions([&] { write_checkpoint(path("no_such_dir/ck.h5"), first); }, {"no_such_dir/ck.h5"});
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"ck.h5"});
}

// Flips one byte inside the stored values of `values`, found by their byte pattern.
void corrupt_values_in_file(const std::string& file, const std::vector<float>& values) {
  std::string bytes = read_bytes(file);
  const std::string pattern(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  const size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(pattern, at + 1), std::string::npos);
  bytes[at + pattern.size() / 2] ^= 0x01;
  write_bytes(file, bytes);
}

TEST_F(H5ioTest, CorruptTensorDataIsDetected) {
  const Checkpoint c = make_checkpoint(5, 0.5f);
  write_checkpoint(path("ck.h5"), c);
  corrupt_values_in_file(path("ck.h5"), c.params[1].data);
  expect_error_mentions([&] { read_checkpoint(path("ck.h5")); }, {path("ck.h5"), "params_checksum"});
}

TEST_F(H5ioTest, CorruptServerMomentumIsDetected) {
  const Checkpoint c = make_checkpoint(5, 0.5f);
  write_checkpoint(path("ck.h5"), c);
  corrupt_values_in_file(path("ck.h5"), c.server_momentum);
  expect_error_mentions([&] { read_checkpoint(path("ck.h5")); }, {path("ck.h5"), "server_checksum"});
}

TEST_F(H5ioTest, UnreadableCheckpointsThrowNamingTheFile) {
  expect_error_mentions([&] { read_checkpoint(path("missing.h5")); }, {path("missing.h5"), "no such file"});

  write_bytes(path("text.h5"), std::string(4096, 'x'));
  expect_error_mentions([&] { read_checkpoint(path("text.h5")); }, {path("text.h5"), "not an HDF5 file"});

  write_checkpoint(path("ck.h5"), make_checkpoint(1));
  const std::string whole = read_bytes(path("ck.h5"));
  write_bytes(path("cut.h5"), whole.substr(0, whole.size() / 2));
  expect_error_mentions([&] { read_checkpoint(path("cut.h5")); }, {path("cut.h5")});

  fs::copy_file(path("ck.h5"), path("nomomentum.h5"));
  hdf5_delete_link(path("nomomentum.h5"), "/server/momentum");
  expect_error_mentions([&] { read_checkpoint(path("nomomentum.h5")); }, {path("nomomentum.h5"), "'/server/momentum'"});

  fs::copy_file(path("ck.h5"), path("noparams.h5"));
  hdf5_delete_link(path("noparams.h5"), "/params");
  expect_error_mentions([&] { read_checkpoint(path("noparams.h5")); }, {path("noparams.h5"), "group '/params'"});

  fs::copy_file(path("ck.h5"), path("onelost.h5"));
  hdf5_delete_link(path("onelost.h5"), "/params/model.norm.weight");
  expect_error_mentions([&] { read_checkpoint(path("onelost.h5")); }, {path("onelost.h5"), "index"});
}

TEST_F(H5ioTest, LatestCheckpointPicksTheHighestRound) {
  EXPECT_EQ(latest_checkpoint(path("absent")), "");
  EXPECT_EQ(latest_checkpoint(dir_.string()), "");
  for (const char* name : {"round_000002.h5", "round_000010.h5", "round_000009.h5", "round_000011.h5.tmp.123",
                           "round_99.h5", "round_00001x.h5", "other.h5"})
    write_bytes(path(name), "x");
  fs::create_directory(path("round_000050.h5"));  // a directory is not a checkpoint
  EXPECT_EQ(latest_checkpoint(dir_.string()), path("round_000010.h5"));
  write_bytes(path("round_1000000.h5"), "x");  // past six digits
  EXPECT_EQ(latest_checkpoint(dir_.string()), path("round_1000000.h5"));
}

TEST(H5io, CheckpointNameHasSixDigits) {
  EXPECT_EQ(checkpoint_name(0), "round_000000.h5");
  EXPECT_EQ(checkpoint_name(12), "round_000012.h5");
  EXPECT_EQ(checkpoint_name(1234567), "round_1234567.h5");
  EXPECT_THROW(checkpoint_name(-1), std::runtime_error);
}

TEST(H5io, ChecksumSeesOrderBitsAndLength) {
  const std::vector<float> a{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  std::vector<float> swapped = a;
  std::swap(swapped[0], swapped[9]);
  std::vector<float> neg_zero = a, pos_zero = a;
  neg_zero[3] = -0.0f;
  pos_zero[3] = 0.0f;
  std::vector<float> longer = a;
  longer.push_back(0.0f);
  std::vector<float> flipped = a;
  flipped[10] = std::bit_cast<float>(std::bit_cast<uint32_t>(flipped[10]) ^ 0x80000000u);
  const uint64_t h = checksum_floats(a);
  EXPECT_EQ(h, checksum_floats(std::vector<float>(a)));
  EXPECT_NE(h, checksum_floats(swapped));
  EXPECT_NE(checksum_floats(neg_zero), checksum_floats(pos_zero));
  EXPECT_NE(h, checksum_floats(longer));
  EXPECT_NE(h, checksum_floats(flipped));
  EXPECT_NE(checksum_floats({}), checksum_floats(std::vector<float>{0.0f}));

  std::vector<TensorEntry> params{{"a", {2}, {1, 2}}, {"b", {1}, {3}}};
  std::vector<TensorEntry> reversed{params[1], params[0]};
  EXPECT_NE(checksum_params(params), checksum_params(reversed));
}

// Stored checkpoints carry these checksums: any change to the algorithm would make every existing
// checkpoint read as corrupt. Values from the original implementation; 1, 8, 9 cover the tail
// chain, one whole group of lanes, and both.
TEST(H5io, ChecksumValuesArePinned) {
  auto ramp = [](size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * 1.25f - 3.0f;
    return v;
  };
  EXPECT_EQ(checksum_floats(ramp(0)), 0x7dffd260febdc495ULL);
  EXPECT_EQ(checksum_floats(ramp(1)), 0xf2c7a75db9519804ULL);
  EXPECT_EQ(checksum_floats(ramp(8)), 0xbee2799334375937ULL);
  EXPECT_EQ(checksum_floats(ramp(9)), 0x6ce7577e33470029ULL);
  EXPECT_EQ(checksum_floats(ramp(1000)), 0xc73e02409565f599ULL);
  const std::vector<TensorEntry> params{{"a", {2}, {1, 2}}, {"b", {1}, {3}}};
  EXPECT_EQ(checksum_params(params), 0xeef6dce86c798af6ULL);
  EXPECT_EQ(checksum_params({}), 0xcbf29ce484222325ULL);  // the FNV-64 offset basis
}

}  // namespace

TEST_F(H5ioTest, MetricsOfAnUnknownSchemaVersionAreRefused) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  { MetricsWriter::create(path("v.h5"), attrs).append_round(make_round(0, attrs)); }
  {  // a file from a future ferret: same layout, another schema_version
    const hid_t f = H5Fopen(path("v.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    ASSERT_GE(a, 0);
    const int64_t v = 99;
    ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
    H5Aclose(a);
    H5Fclose(f);
  }
  expect_error_mentions([&] { read_metrics(path("v.h5")); }, {path("v.h5"), "schema_version", "99"});
  expect_error_mentions([&] { MetricsWriter::resume(path("v.h5"), attrs, 1); }, {"schema_version"});
}

TEST_F(H5ioTest, DatasetsResizedPastTheRunsRoundsAreRefusedBeforeReading) {
  const RunAttributes attrs = make_attrs(2, 2, 1);  // 10 rounds planned, K = 2
  { MetricsWriter::create(path("r.h5"), attrs).append_round(make_round(0, attrs)); }
  {  // what a hand edit or damage can do: /coefficients claims 10^6 rows (read whole: 8 MB here, GBs at real K)
    const hid_t f = H5Fopen(path("r.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t d = H5Dopen2(f, "/coefficients", H5P_DEFAULT);
    ASSERT_GE(d, 0);
    const hsize_t dims[2] = {1'000'000, 2};
    ASSERT_GE(H5Dset_extent(d, dims), 0);
    H5Dclose(d);
    H5Fclose(f);
  }
  expect_error_mentions([&] { read_metrics(path("r.h5")); },
                        {path("r.h5"), "'/coefficients'", "holds 1000000 rows, more than the run's 10"});
}
