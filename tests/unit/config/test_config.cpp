#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/config.hpp"

namespace {

using ferret::AlgorithmKind;
using ferret::Basis;
using ferret::Config;
using ferret::ConfigError;

ferret::ParseResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ferret");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return ferret::parse_config(static_cast<int>(argv.size()), argv.data());
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("ferret_test_config_" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreValid) {
  const auto r = parse({});
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->algorithm, AlgorithmKind::ferret);
  EXPECT_EQ(r.config->basis, Basis::rademacher);
}

TEST(Config, HelpListsOptionsWithDefaults) {
  const auto r = parse({"--help"});
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.message.find("--server-momentum"), std::string::npos);
  EXPECT_NE(r.message.find("(=rademacher)"), std::string::npos);
}

TEST(Config, CliOverridesIniFile) {
  const auto ini = write_temp("a.ini", "rounds = 7\nk = 99\nbasis = gaussian\ntie-embeddings = false\n");
  const auto r = parse({"--config", ini, "--k", "128"});
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->rounds, 7);
  EXPECT_EQ(r.config->k, 128);
  EXPECT_EQ(r.config->basis, Basis::gaussian);
  EXPECT_FALSE(r.config->model.tie_embeddings);
}

TEST(Config, ResolvedIniParsesBackToTheSameConfig) {
  const auto first = parse({"--rounds", "3", "--lr", "0.00025", "--server-lr-schedule", "cosine", "--overwrite"});
  ASSERT_TRUE(first.config);
  const std::string text = ferret::to_ini(*first.config);
  const auto second = parse({"--config", write_temp("b.ini", text)});
  ASSERT_TRUE(second.config);
  EXPECT_EQ(ferret::to_ini(*second.config), text);
  EXPECT_TRUE(second.config->overwrite);
  EXPECT_DOUBLE_EQ(second.config->lr, 0.00025);
}

TEST(Config, BadValuesNameTheOptionAndTheAllowedRange) {
  EXPECT_NE(error_of({"--rounds", "0"}).find("--rounds = 0 is invalid: allowed >= 1"), std::string::npos);
  EXPECT_NE(error_of({"--basis", "uniform"}).find("rademacher | gaussian | truncnormal"), std::string::npos);
  EXPECT_NE(error_of({"--participation", "1.5"}).find("--participation"), std::string::npos);
  EXPECT_NE(error_of({"--heads", "3"}).find("--heads"), std::string::npos);
  EXPECT_NE(error_of({"--rounds", "abc"}).find("rounds"), std::string::npos);
  EXPECT_NE(error_of({"--overwrite", "--resume", "auto"}).find("--overwrite"), std::string::npos);
  EXPECT_NE(error_of({"--max-update-norm", "-1"}).find("--max-update-norm = -1 is invalid"), std::string::npos);
  EXPECT_NE(error_of({"--inject-fault", "zero"}).find("none | nan | huge"), std::string::npos);
  EXPECT_NE(error_of({"--inject-fault-client", "8"}).find("0 .. num-clients - 1"), std::string::npos);
  EXPECT_NE(error_of({"--device", "gpu"}).find("--device = 'gpu' is invalid: allowed cpu | cuda"), std::string::npos);
  EXPECT_NE(error_of({"--device", "cuda", "--algorithm", "fedkseed"}).find("--device = cuda is invalid: allowed cpu with --algorithm fedkseed"),
            std::string::npos);
  EXPECT_NE(error_of({"--data-comm", "nccl"}).find("--data-comm = nccl is invalid: allowed mpi with --device cpu"),
            std::string::npos);
  EXPECT_NE(error_of({"--data-comm", "gloo"}).find("allowed mpi | nccl"), std::string::npos);
}

TEST(Config, UnknownOptionAndMissingFileAreErrors) {
  EXPECT_NE(error_of({"--no-such-option", "1"}).find("no-such-option"), std::string::npos);
  EXPECT_NE(error_of({"--config", "/nonexistent/x.ini"}).find("/nonexistent/x.ini"), std::string::npos);
  const auto ini = write_temp("c.ini", "bogus-key = 1\n");
  EXPECT_NE(error_of({"--config", ini}).find("bogus-key"), std::string::npos);
}

TEST(Config, ErrorsAreOneLine) {
  for (const auto& msg : {error_of({"--rounds", "-1"}), error_of({"--optimizer", "lamb"}), error_of({"--bad"})}) {
    EXPECT_FALSE(msg.empty());
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Config, ChoicesAreTypedAndPrintedByName) {
  const auto r = parse({"--optimizer", "sgd", "--server-lr-schedule", "cosine", "--basis", "truncnormal"});
  EXPECT_EQ(r.config->optimizer, ferret::OptimizerKind::sgd);
  EXPECT_EQ(r.config->server_lr_schedule, ferret::LrSchedule::cosine);
  EXPECT_EQ(r.config->basis, Basis::truncnormal);
  const std::string ini = ferret::to_ini(*r.config);
  EXPECT_NE(ini.find("optimizer = sgd\n"), std::string::npos);
  EXPECT_NE(ini.find("basis = truncnormal\n"), std::string::npos);
  // An unknown value is refused by name, never mapped to a default.
  EXPECT_EQ(error_of({"--optimizer", "adam"}), "--optimizer = 'adam' is invalid: allowed sgd | adamw");
}

TEST(Config, NumbersArePrintedAsAPersonWritesThem) {
  const auto r = parse({"--lr", "0.1", "--server-lr", "3", "--zo-eps", "5e-4", "--participation", "0.05"});
  const std::string ini = ferret::to_ini(*r.config);
  EXPECT_NE(ini.find("\nlr = 0.1\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("\nserver-lr = 3\n"), std::string::npos);
  EXPECT_NE(ini.find("\nzo-eps = 0.0005\n"), std::string::npos);
  EXPECT_NE(ini.find("\nparticipation = 0.05\n"), std::string::npos);
  // ... and still read back as the same doubles.
  EXPECT_EQ(ferret::config_from_ini(ini).lr, 0.1);
}

TEST(Config, HostileSizesAreRefusedBeforeAnythingIsAllocated) {
  EXPECT_EQ(error_of({"--lr", "1e308"}), "--lr = 1e308 is invalid: allowed (0, 1e4]");
  EXPECT_EQ(error_of({"--num-clients", "1000000000"}), "--num-clients = 1000000000 is invalid: allowed 1 .. 1000000");
  EXPECT_NE(error_of({"--threads", "100000"}).find("--threads = 100000 is invalid: allowed 1 .. "), std::string::npos);
  EXPECT_NE(error_of({"--num-clients", "100000", "--train-per-client", "1000"}).find("--train-per-client = 1000 is invalid"),
            std::string::npos);
}

TEST(Config, ADirectoryIsNotAConfigFile) {
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_EQ(error_of({"--config", dir.string()}),
            "--config: '" + dir.string() + "' is a directory (allowed: an INI file of options)");
}

}  // namespace

TEST(Config, DifferentialPrivacyCombinationsThatCannotHoldAreRefused) {
  const std::vector<std::string> dp = {"--dp-clip", "1", "--allocation", "uniform"};
  auto with_dp = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), dp.begin(), dp.end());
    return extra;
  };
  EXPECT_EQ(error_of(with_dp({"--dp-noise-multiplier", "1"})), "");  // accepted
  EXPECT_EQ(error_of({"--dp-noise-multiplier", "1"}),
            "--dp-clip = 0 is invalid: allowed > 0 with --dp-noise-multiplier or --dp-target-epsilon (the noise is "
            "scaled to the clip)");
  EXPECT_EQ(error_of({"--dp-clip", "-1"}), "--dp-clip = -1 is invalid: allowed >= 0 (0 = no DP)");
  EXPECT_EQ(error_of(with_dp({"--dp-delta", "1"})), "--dp-delta = 1 is invalid: allowed (0, 1)");
  EXPECT_EQ(error_of(with_dp({"--dp-delta", "0"})), "--dp-delta = 0 is invalid: allowed (0, 1)");
  EXPECT_EQ(error_of({"--dp-clip", "1"}),  // the default allocation, norm, reads the clients' updates
            "--allocation = norm is invalid: allowed uniform | size with --dp-clip (norm allocation is computed from "
            "the clients' updates)");
  EXPECT_EQ(error_of(with_dp({"--dp-target-epsilon", "8"})),
            "--dp-target-epsilon = 8 is invalid: allowed 0 with --dp-noise-multiplier 0 (without noise epsilon is "
            "infinite)");
  EXPECT_EQ(error_of({"--dp-clip", "1", "--algorithm", "fedavg"}), "");  // no allocation to speak of
}

TEST(Config, SecureAggregationNeedsAClipAndAKVectorAlgorithm) {
  EXPECT_EQ(error_of({"--secure-aggregation"}),
            "--secure-aggregation = true is invalid: allowed false without --dp-clip (the clip bounds every upload, so "
            "the fixed-point sum cannot wrap)");
  EXPECT_EQ(error_of({"--secure-aggregation", "--dp-clip", "1", "--algorithm", "fedavg"}),
            "--secure-aggregation = true is invalid: allowed false with --algorithm fedavg (its d-vectors would travel "
            "as 8·d bytes a sender; use ferret or fedkseed)");
  EXPECT_EQ(error_of({"--secure-aggregation", "--dp-clip", "1", "--allocation", "uniform"}), "");
}
