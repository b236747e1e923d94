// Tests of io/checkpoint_file and io/checksum: checkpoints (atomicity, corruption), naming, and the
// checksum algorithm's pinned values.
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
  EXPECT_EQ(want.privacy_rdp, got.privacy_rdp);
}

TEST_F(H5ioTest, CheckpointRoundTripKeepsOrderShapesAndState) {
  Checkpoint c = make_checkpoint(12);
  c.server_state_extra = {1.0f, 2.0f, 3.0f};
  c.privacy_rdp = {0.125, 1e-300, std::numeric_limits<double>::infinity()};  // doubles exactly (inf: no noise)
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


