// defines: ResumeRule, resume_rule, OptionChange, ResumeChanges, compare_for_resume — what a
//          resumed run may change
//
// A checkpoint stores the resolved configuration it was written under. A resume compares it with
// the new one, option by option:
//  - fixed: options that decide what the stored numbers mean or who the clients are (algorithm,
//    seed, k, basis, allocation, the model and its shape, the data and its split, num-clients).
//    Changing one would make /coefficients unreplayable or the rounds incomparable: refused.
//  - recorded: training and evaluation settings (lr, local-steps, participation, server-lr, rounds,
//    ...). Allowed; the round from which they apply is recorded in metrics.h5 /config_history.
//  - free: where and how often things are written (out, resume, overwrite, checkpoint-every,
//    verify-every); they do not change any number and are not recorded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace ferret {

enum class ResumeRule { fixed, recorded, free };

// The rule of an option (its CLI name without dashes, as in the INI text). Unknown names: fixed.
ResumeRule resume_rule(std::string_view option);

struct OptionChange {
  std::string option, stored, now;  // the INI values
};

struct ResumeChanges {
  std::vector<OptionChange> fixed, recorded;  // free options are left out
};

// The options whose INI value differs between the configuration stored in a checkpoint
// (`stored_ini`, to_ini's text) and `now`. An option missing from the stored text counts as
// changed (a checkpoint of another ferret version).
ResumeChanges compare_for_resume(const std::string& stored_ini, const Config& now);

// One line refusing the fixed changes: "--resume: --basis = gaussian, but the run was made with
// rademacher; ... cannot change on resume (allowed: the run's values)".
std::string describe_refusal(const std::vector<OptionChange>& fixed, const std::string& checkpoint);

// "lr 0.001 -> 0.002, local-steps 10 -> 5", for the log.
std::string describe_changes(const std::vector<OptionChange>& changes);

}  // namespace ferret
