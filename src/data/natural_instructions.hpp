// defines: NiOptions, load_natural_instructions
//
// Loader of Natural Instructions (v2) task files into a federated split: one task per client as in the
// Ferret paper, or several tasks per client / several clients per task when the counts differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/example.hpp"

namespace ferret {

struct NiOptions {
  std::string dir;                // folder of task files <dir>/*.json
  int num_clients = 1;            // >= 1
  uint64_t seed = 0;              // instance shuffles
  double eval_fraction = 0.1;     // in [0, 1): share of each task's instances held out for eval (at least 1)
  int max_instances_per_task = 0; // >= 0; 0 = all; else keep this many (at least 2), after shuffling, before the hold-out
  size_t max_input_chars = 1024;  // instances with a longer input (in bytes) are dropped; 0 = no limit
  int min_instances = 20;         // tasks with fewer usable instances are dropped (at least 2 are always needed)
  double instance_fraction = 1.0; // in (0, 1]: random share of each task's usable instances kept (paper: 0.2)
  // Tasks (file names without ".json") held out entirely: never trained on; their eval instances are
  // max(20, 2 %) of the usable ones (all when fewer than 20), as the paper's test tasks.
  std::vector<std::string> eval_tasks;
  // Extra filter (e.g. "at most --max-length tokens once encoded"); empty = keep every usable instance.
  std::function<bool(const Example&)> keep;
  // Where to say what was skipped and why: a task file whose instances are not {input: string,
  // output: [string, ...]} (counted), a task dropped for too few usable instances. Null = silent.
  std::function<void(const std::string&)> warn;
};

// Reads every <dir>/*.json, in file-name order. Each file: {"Definition": [str, ...], "Instances":
// [{"id", "input", "output": [str, ...]}, ...], ...}; bare NaN / Infinity / -Infinity outside strings (as in
// upstream files) are read as null. Example: instruction = Definition[0], input, output = output[0].
// Usable instance: string input of at most max_input_chars bytes, a first output that is a string, and an
// input not seen before in the task (duplicates would leak held-out inputs into training).
// Usable instances must also pass `keep` when it is set.
// Per task (name = file name without ".json"): shuffle the usable instances by (seed, task name), keep
// ceil(instance_fraction * n) (at least 2), cap to max_instances_per_task, hold out round(eval_fraction * n)
// (at least 1, at most n - 1; none when eval_fraction = 0) for eval, train on the rest. An eval task
// (eval_tasks) contributes max(20, ceil(2 % of n)) instances to eval (at most n) and nothing to training; the
// eval set lists the held-out tasks first, then the held-out instances of training tasks. A name in
// eval_tasks without a task file is an error; so is eval_fraction = 0 with no eval task (no eval set).
// Tasks → clients (T tasks, C clients): C <= T: task t goes to client t mod C (C == T: one task per client),
// a client with several tasks is named "a+b+..." and its train set is shuffled together; C > T: client c holds
// task c mod T, and a task's train instances are split in contiguous near-equal parts over its clients.
// Errors (std::runtime_error naming the path): missing dir or not a directory, no *.json, unreadable or
// unparseable file or one without Definition/Instances, no task left, a task with fewer train instances than
// clients. Bad option values → std::invalid_argument.
FederatedData load_natural_instructions(const NiOptions& options);

}  // namespace ferret
