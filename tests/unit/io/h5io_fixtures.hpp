// Test helpers for io/: a fresh directory per test, recognisable attributes and rounds, HDF5 edits
// that damage or age a file (test_h5io.cpp, test_checkpoint_file.cpp).
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "io/checkpoint_file.hpp"
#include "io/metrics_file.hpp"

namespace ferret::test_h5io {

namespace fs = std::filesystem;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

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
inline std::string long_config() {
  std::string text = "# resolved config — ünïcode\n";
  for (int i = 0; i < 400; ++i) text += "option_" + std::to_string(i) + " = value " + std::to_string(i * 7) + "\n";
  return text;
}

inline RunAttributes make_attrs(int64_t k, int64_t num_clients, int64_t num_blocks) {
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
inline RoundRecord make_round(int r, const RunAttributes& a, double tag = 0) {
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
  rec.dp_epsilon = 0.5 * r + tag;
  for (int64_t i = 0; i < a.k; ++i) rec.coefficients.push_back(static_cast<float>(r * 100 + i) * 0.5f);
  for (int64_t c = 0; c < a.num_clients; ++c)
    rec.client_train_loss.push_back(c % 3 == 1 ? kNaNf : static_cast<float>(r + c) / 8.0f + static_cast<float>(tag));
  for (int64_t b = 0; b < a.num_blocks; ++b) rec.allocation.push_back(static_cast<int32_t>(r + b + 1));
  return rec;
}

// NaN == NaN here: "not evaluated" must come back as not evaluated.
inline void expect_same(double want, double got, const std::string& what) {
  if (std::isnan(want)) EXPECT_TRUE(std::isnan(got)) << what;
  else EXPECT_EQ(want, got) << what;
}
inline void expect_same_row(const std::vector<float>& want, const std::vector<float>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << what << "[" << i << "]";
    else EXPECT_EQ(want[i], got[i]) << what << "[" << i << "]";
  }
}

inline void expect_attrs_equal(const RunAttributes& want, const RunAttributes& got) {
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
inline void expect_round_equal(const MetricsData& m, size_t i, const RoundRecord& want) {
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
  EXPECT_EQ(want.dp_epsilon, m.dp_epsilon.at(i)) << at;
  expect_same_row(want.coefficients, m.coefficients.at(i), at + " coefficients");
  expect_same_row(want.client_train_loss, m.client_train_loss.at(i), at + " client_train_loss");
  EXPECT_EQ(want.allocation, m.allocation.at(i)) << at;
}

inline void expect_round_count(const MetricsData& m, size_t rounds) {
  EXPECT_EQ(m.eval_loss.size(), rounds + 1);
  for (const auto* v : {&m.train_loss, &m.rouge_l, &m.time_local, &m.time_project, &m.time_comm, &m.time_reconstruct,
                        &m.time_round, &m.time_eval, &m.time_wait, &m.dp_epsilon})
    EXPECT_EQ(v->size(), rounds);
  for (const auto* v : {&m.bytes_up, &m.bytes_down, &m.bytes_control}) EXPECT_EQ(v->size(), rounds);
  EXPECT_EQ(m.participants.size(), rounds);
  EXPECT_EQ(m.senders.size(), rounds);
  EXPECT_EQ(m.coefficients.size(), rounds);
  EXPECT_EQ(m.client_train_loss.size(), rounds);
  EXPECT_EQ(m.allocation.size(), rounds);
}

inline bool hdf5_link_exists(const std::string& file, const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0);
  const bool exists = H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0;
  H5Fclose(f);
  return exists;
}

inline void hdf5_delete_link(const std::string& file, const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0);
  H5Fclose(f);
}

// Expects `fn` to throw a runtime_error whose message contains every one of `parts`.
template <class F>
inline void expect_error_mentions(F&& fn, const std::vector<std::string>& parts) {
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

inline std::string read_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
inline void write_bytes(const std::string& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Makes `file` look written by another ferret: `removed` (a link; "" = none) deleted and the root
// attribute schema_version set to `version`.
inline void age_metrics_file(const std::string& file, const std::string& removed, int64_t version) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  if (!removed.empty()) EXPECT_GE(H5Ldelete(f, removed.c_str(), H5P_DEFAULT), 0);
  const hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
  ASSERT_GE(a, 0);
  EXPECT_GE(H5Awrite(a, H5T_NATIVE_INT64, &version), 0);
  H5Aclose(a);
  H5Fclose(f);
}

}  // namespace ferret::test_h5io
