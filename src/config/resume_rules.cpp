// defines: the implementation of resume_rules.hpp
#include "config/resume_rules.hpp"

#include <array>
#include <map>
#include <sstream>

namespace ferret {
namespace {

// Options that may change on resume without being recorded: they change no number of the run.
constexpr std::array<std::string_view, 5> kFree = {"out", "overwrite", "resume", "checkpoint-every", "verify-every"};

// Options a resume may change; the change is recorded per round. Everything else is fixed.
constexpr std::array<std::string_view, 30> kRecorded = {
    "rounds",          "participation",      "client-weighting", "local-steps",        "lr",
    "optimizer",       "weight-decay",       "batch-size",       "grad-accum",         "grad-clip",
    "max-update-norm", "inject-fault",       "inject-fault-client", "server-lr",       "server-lr-schedule",
    "server-lr-min",   "server-momentum",    "server-clip",      "eval-every",         "eval-samples",
    "rouge-samples",   "max-new-tokens",     "threads",          "device",             "data-comm",
    "dtype",           "prompt-template",    "max-seq-len",      "zo-eps",             "fedkseed-pro"};

bool contains(auto const& list, std::string_view name) {
  for (auto item : list)
    if (item == name) return true;
  return false;
}

// "key = value" lines of to_ini's text; comments and blank lines skipped.
std::map<std::string, std::string> ini_values(const std::string& text) {
  std::map<std::string, std::string> values;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    values[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return values;
}

}  // namespace

ResumeRule resume_rule(std::string_view option) {
  if (contains(kFree, option)) return ResumeRule::free;
  if (contains(kRecorded, option)) return ResumeRule::recorded;
  return ResumeRule::fixed;
}

ResumeChanges compare_for_resume(const std::string& stored_ini, const Config& now) {
  const auto stored = ini_values(stored_ini);
  ResumeChanges changes;
  for (const auto& [option, value] : ini_values(to_ini(now))) {
    const auto it = stored.find(option);
    const std::string before = it == stored.end() ? "(absent)" : it->second;
    if (before == value) continue;
    switch (resume_rule(option)) {
      case ResumeRule::fixed: changes.fixed.push_back({option, before, value}); break;
      case ResumeRule::recorded: changes.recorded.push_back({option, before, value}); break;
      case ResumeRule::free: break;
    }
  }
  return changes;
}

std::string describe_refusal(const std::vector<OptionChange>& fixed, const std::string& checkpoint) {
  std::string changed, allowed;
  for (const auto& ch : fixed) {
    changed += (changed.empty() ? "" : ", ") + ("--" + ch.option + " = " + (ch.now.empty() ? "\"\"" : ch.now));
    allowed += (allowed.empty() ? "" : ", ") + ("--" + ch.option + " = " + (ch.stored.empty() ? "\"\"" : ch.stored));
  }
  return "--resume: " + changed + " differs from the run in '" + checkpoint +
         "'; these options fix what the stored coefficients and clients mean and cannot change on resume (allowed: " +
         allowed + ")";
}

std::string describe_changes(const std::vector<OptionChange>& changes) {
  std::string text;
  for (const auto& ch : changes) text += (text.empty() ? "" : ", ") + (ch.option + " " + ch.stored + " -> " + ch.now);
  return text;
}

}  // namespace ferret
