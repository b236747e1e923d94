// Tests of io/ (metrics_file, checkpoint_file, checksum): metrics.h5 round trips, resume,
// checkpoints (atomicity, corruption), naming, and the checksum algorithm's pinned values.
#include "io/checkpoint_file.hpp"
#include "io/checksum.hpp"
#include "io/metrics_file.hpp"
#include "h5io_fixtures.hpp"

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

using namespace ferret::test_h5io;

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
  age_metrics_file(path("v3.h5"), "/config_history", 3);  // what ferret wrote before /config_history existed
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

TEST_F(H5ioTest, MetricsOfAnUnknownSchemaVersionAreRefused) {
  const RunAttributes attrs = make_attrs(2, 2, 1);
  { MetricsWriter::create(path("v.h5"), attrs).append_round(make_round(0, attrs)); }
  age_metrics_file(path("v.h5"), "", 99);  // a file from a future ferret: same layout, another schema_version
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

TEST_F(H5ioTest, SchemaFourFilesReadEpsilonAsNaNAndGainTheColumnOnResume) {
  RunAttributes attrs = make_attrs(2, 2, 1);
  {
    MetricsWriter w = MetricsWriter::create(path("v4.h5"), attrs);
    for (int r = 0; r < 2; ++r) w.append_round(make_round(r, attrs));
  }
  age_metrics_file(path("v4.h5"), "/rounds/dp_epsilon", 4);  // what ferret wrote before /rounds/dp_epsilon existed
  MetricsData m = read_metrics(path("v4.h5"));
  ASSERT_EQ(m.dp_epsilon.size(), 2u);
  EXPECT_TRUE(std::isnan(m.dp_epsilon[0]) && std::isnan(m.dp_epsilon[1]));
  {
    MetricsWriter w = MetricsWriter::resume(path("v4.h5"), attrs, 2);
    RoundRecord third = make_round(2, attrs);
    third.dp_epsilon = 1.5;
    w.append_round(third);
  }
  m = read_metrics(path("v4.h5"));
  ASSERT_EQ(m.dp_epsilon.size(), 3u);
  EXPECT_TRUE(std::isnan(m.dp_epsilon[1]));
  EXPECT_EQ(m.dp_epsilon[2], 1.5);
}
