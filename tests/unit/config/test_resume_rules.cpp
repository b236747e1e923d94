// What a resume may change (config/resume_rules): fixed options refused, recorded ones listed,
// free ones ignored; every option of the Config has a rule.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/resume_rules.hpp"

using namespace ferret;

namespace {

Config base() {
  const char* argv[] = {"ferret"};
  return *parse_config(1, argv).config;
}

}  // namespace

TEST(ResumeRules, OptionsFallIntoFixedRecordedAndFree) {
  for (const char* o : {"basis", "k", "allocation", "seed", "algorithm", "hidden-size", "model-dir", "num-clients", "data"})
    EXPECT_EQ(resume_rule(o), ResumeRule::fixed) << o;
  for (const char* o : {"lr", "local-steps", "participation", "rounds", "server-lr", "device", "threads"})
    EXPECT_EQ(resume_rule(o), ResumeRule::recorded) << o;
  for (const char* o : {"out", "overwrite", "resume", "checkpoint-every", "verify-every"})
    EXPECT_EQ(resume_rule(o), ResumeRule::free) << o;
  EXPECT_EQ(resume_rule("an-option-of-a-later-ferret"), ResumeRule::fixed);  // unknown: the safe side
}

TEST(ResumeRules, ChangesAreClassifiedAndDescribed) {
  const Config stored = base();
  Config now = stored;
  now.basis = Basis::gaussian;
  now.seed = stored.seed + 1;
  now.lr = stored.lr * 2;
  now.rounds = stored.rounds + 5;
  now.out = "elsewhere";
  now.checkpoint_every = 1;
  const ResumeChanges ch = compare_for_resume(to_ini(stored), now);
  ASSERT_EQ(ch.fixed.size(), 2u);
  EXPECT_EQ(ch.fixed[0].option, "basis");
  EXPECT_EQ(ch.fixed[0].stored, "rademacher");
  EXPECT_EQ(ch.fixed[0].now, "gaussian");
  EXPECT_EQ(ch.fixed[1].option, "seed");
  ASSERT_EQ(ch.recorded.size(), 2u);
  EXPECT_EQ(describe_changes(ch.recorded), "lr 0.001 -> 0.002, rounds 20 -> 25");  // by option name
  const std::string refusal = describe_refusal(ch.fixed, "ck.h5");
  EXPECT_EQ(refusal.rfind("--resume: --basis = gaussian, --seed = 43 differs from the run in 'ck.h5'", 0), 0u) << refusal;
  EXPECT_NE(refusal.find("(allowed: --basis = rademacher, --seed = 42)"), std::string::npos) << refusal;
  EXPECT_TRUE(compare_for_resume(to_ini(stored), stored).fixed.empty());
  EXPECT_TRUE(compare_for_resume(to_ini(stored), stored).recorded.empty());
}

TEST(ResumeRules, AnOptionMissingFromTheStoredTextCountsAsChanged) {
  const Config now = base();
  std::string stored = to_ini(now);
  const size_t at = stored.find("basis = ");
  stored.erase(at, stored.find('\n', at) + 1 - at);
  const ResumeChanges ch = compare_for_resume(stored, now);
  ASSERT_EQ(ch.fixed.size(), 1u);
  EXPECT_EQ(ch.fixed[0].option, "basis");
}
