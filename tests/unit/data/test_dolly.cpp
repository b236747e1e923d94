// Dolly-15K loader: JSONL parsing, held-out category, Dirichlet label-skew split.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/dolly.hpp"

namespace fs = std::filesystem;
using namespace ferret;

namespace {

const std::string kDollyFile = std::string(FERRET_SHARED_DIR) + "/data/dolly/dolly-sample.jsonl";

#define SKIP_WITHOUT_DOLLY() \
  if (!fs::is_regular_file(kDollyFile)) GTEST_SKIP() << "shared Dolly sample not found at " << kDollyFile

// A JSONL file in the temp folder, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(fs::temp_directory_path() /
              ("ferret_dolly_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".jsonl")) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { fs::remove(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// n records per category, instruction "<category> <i>".
std::string synthetic_jsonl(const std::map<std::string, int>& counts) {
  std::string text;
  for (const auto& [category, n] : counts)
    for (int i = 0; i < n; ++i)
      text += R"({"instruction": ")" + category + " " + std::to_string(i) + R"(", "context": "", "response": "r", "category": ")" +
              category + "\"}\n\n";
  return text;
}

std::string category_of(const Example& ex) { return ex.instruction.substr(0, ex.instruction.find(' ')); }

std::string error_of(const DollyOptions& o) {
  try {
    load_dolly(o);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Dolly, HoldsOutTheEvalCategoryAndPartitionsTheRest) {
  const TempFile file(synthetic_jsonl({{"a", 60}, {"b", 40}, {"c", 30}, {"summarization", 7}}));
  const FederatedData data = load_dolly({.file = file.str(), .num_clients = 5, .seed = 3, .min_per_client = 10});
  ASSERT_EQ(data.eval.size(), 7u);
  for (const Example& ex : data.eval) EXPECT_EQ(category_of(ex), "summarization");
  ASSERT_EQ(data.clients.size(), 5u);
  std::set<std::string> seen;
  for (const ClientData& c : data.clients) {
    EXPECT_GE(c.train.size(), 10u) << c.name;
    for (const Example& ex : c.train) {
      EXPECT_NE(category_of(ex), "summarization");
      EXPECT_TRUE(seen.insert(ex.instruction).second) << ex.instruction << " is on two clients";
    }
  }
  EXPECT_EQ(seen.size(), 130u);  // every training example on exactly one client
}

TEST(Dolly, SmallAlphaSkewsLabelsMoreThanLargeAlpha) {
  const TempFile file(synthetic_jsonl({{"a", 100}, {"b", 100}, {"c", 100}, {"d", 100}, {"summarization", 5}}));
  // Mean over clients of the share of their dominant category: 1/4 for a perfectly even mix.
  const auto dominance = [&](double alpha) {
    double total = 0.0;
    for (uint64_t seed = 0; seed < 5; ++seed) {
      const FederatedData data = load_dolly({.file = file.str(), .num_clients = 8, .seed = seed, .dirichlet_alpha = alpha, .min_per_client = 5});
      for (const ClientData& c : data.clients) {
        std::map<std::string, int> per;
        for (const Example& ex : c.train) ++per[category_of(ex)];
        int top = 0;
        for (const auto& [k, v] : per) top = std::max(top, v);
        total += static_cast<double>(top) / static_cast<double>(c.train.size());
      }
    }
    return total / 40.0;
  };
  const double skewed = dominance(0.1), even = dominance(100.0);
  EXPECT_GT(skewed, 0.6);
  EXPECT_LT(even, 0.45);
}

TEST(Dolly, DeterministicPerSeed) {
  const TempFile file(synthetic_jsonl({{"a", 50}, {"b", 50}, {"summarization", 3}}));
  const auto names = [&](uint64_t seed) {
    std::vector<std::string> out;
    for (const ClientData& c : load_dolly({.file = file.str(), .num_clients = 4, .seed = seed}).clients)
      for (const Example& ex : c.train) out.push_back(c.name + "/" + ex.instruction);
    return out;
  };
  EXPECT_EQ(names(7), names(7));
  EXPECT_NE(names(7), names(8));
}

TEST(Dolly, ClearErrors) {
  const TempFile file(synthetic_jsonl({{"a", 20}, {"summarization", 3}}));
  EXPECT_NE(error_of({.file = file.str(), .num_clients = 2, .eval_category = "poetry"}).find("allowed: a|summarization"),
            std::string::npos);
  EXPECT_NE(error_of({.file = file.str(), .num_clients = 3, .min_per_client = 10}).find("20 training examples for 3 clients"),
            std::string::npos);
  EXPECT_NE(error_of({.file = "/nonexistent/dolly.jsonl"}).find("/nonexistent/dolly.jsonl"), std::string::npos);
  EXPECT_THROW(load_dolly({.file = file.str(), .dirichlet_alpha = 0.0}), std::invalid_argument);
  const TempFile broken("{\"instruction\": \"x\", \"response\": \"y\", \"category\": \"a\"}\n{not json}\n");
  EXPECT_NE(error_of({.file = broken.str()}).find(":2: not a JSON object"), std::string::npos);
}

TEST(Dolly, RealSampleWithPaperSettings) {
  SKIP_WITHOUT_DOLLY();
  const FederatedData data = load_dolly({.file = kDollyFile, .num_clients = 4, .seed = 1, .dirichlet_alpha = 0.5});
  EXPECT_EQ(data.eval.size(), 13u);  // the sample's summarization records
  size_t train = 0;
  for (const ClientData& c : data.clients) {
    EXPECT_GE(c.train.size(), 10u);
    train += c.train.size();
  }
  EXPECT_EQ(train + data.eval.size(), 145u);
  for (const Example& ex : data.eval) EXPECT_FALSE(ex.output.empty());
}
