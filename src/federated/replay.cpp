// defines: the implementation of replay.hpp
#include "federated/replay.hpp"

#include <boost/program_options.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "config/config.hpp"
#include "algorithms/ferret.hpp"
#include "model/flat_params.hpp"
#include "io/checkpoint_file.hpp"
#include "io/checksum.hpp"
#include "io/metrics_file.hpp"
#include "model/llama.hpp"
#include "data/tokenizer.hpp"

namespace fs = std::filesystem;

namespace ferret {

ReplayResult replay_run(const std::string& run_dir, int64_t round, std::ostream& log) {
  const std::string metrics_path = (fs::path(run_dir) / "metrics.h5").string();
  if (!fs::is_regular_file(metrics_path)) throw ConfigError("replay: no metrics.h5 in '" + run_dir + "'");
  const MetricsData m = read_metrics(metrics_path);
  if (m.attrs.algorithm != "ferret")
    throw ConfigError("replay: '" + metrics_path + "' is a " + m.attrs.algorithm +
                      " run; only ferret runs store their updates as coefficients");
  ReplayResult result;
  result.checkpoint = round > 0 ? (fs::path(run_dir) / "checkpoints" / checkpoint_name(round)).string()
                                : latest_checkpoint((fs::path(run_dir) / "checkpoints").string());
  if (result.checkpoint.empty() || !fs::is_regular_file(result.checkpoint))
    throw ConfigError("replay: no checkpoint '" + (result.checkpoint.empty() ? run_dir + "/checkpoints/round_*.h5" : result.checkpoint) + "'");
  const Checkpoint ck = read_checkpoint(result.checkpoint);
  result.round = ck.round;
  if (static_cast<int64_t>(m.coefficients.size()) < ck.round)
    throw ConfigError("replay: '" + metrics_path + "' holds " + std::to_string(m.coefficients.size()) +
                      " rounds, the checkpoint is of round " + std::to_string(ck.round));

  Config c = config_from_ini(m.attrs.config);
  auto model = load_model(c).model;  // the same start as the run: seeded init or the pretrained weights
  FlatParams fp = flatten_parameters(*model);
  FerretAlgorithm algorithm(c, fp.infos);
  for (int64_t r = 0; r < ck.round; ++r) {
    algorithm.begin_round(static_cast<uint32_t>(r));
    algorithm.set_allocation(m.allocation[r]);
    algorithm.apply(m.coefficients[r], fp.span());
  }

  std::vector<float> saved;
  for (const auto& t : ck.params) saved.insert(saved.end(), t.data.begin(), t.data.end());
  if (saved.size() != fp.size())
    throw ConfigError("replay: the checkpoint holds " + std::to_string(saved.size()) + " parameters, the model " +
                      std::to_string(fp.size()));
  const auto replayed = fp.span();
  result.identical = std::equal(saved.begin(), saved.end(), replayed.begin(),
                                [](float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); });
  for (size_t i = 0; i < saved.size(); ++i)
    result.max_abs_diff = std::max(result.max_abs_diff, std::abs(static_cast<double>(saved[i]) - replayed[i]));
  log << "replayed rounds 1.." << ck.round << " from seed " << c.seed << " and " << metrics_path << ": "
      << (result.identical ? "bit-identical to " : "DIFFERS from ") << result.checkpoint
      << " (max |diff| " << result.max_abs_diff << ")\n";
  return result;
}

int replay_main(int argc, const char* const* argv) {
  namespace po = boost::program_options;
  std::string run;
  int64_t round = 0;  // 0: not given, the newest checkpoint
  po::options_description desc("ferret replay: rebuild a Ferret run's model from the seed and /coefficients");
  desc.add_options()("help,h", "print this help")("run", po::value(&run)->required(), "run directory (--out of the run)")(
      "round", po::value<int64_t>(), "round to rebuild and compare, >= 1 (default: the newest checkpoint)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << "usage: ferret replay --run DIR [--round R]\n\n" << desc;
      return 0;
    }
    po::notify(vm);
    if (vm.count("round")) {
      round = vm["round"].as<int64_t>();
      if (round < 1)  // 0 or -1 silently meant "newest" once: say what is allowed instead
        throw ConfigError("replay: --round = " + std::to_string(round) +
                          " (allowed: a round >= 1 that has a checkpoint; omit --round for the newest)");
    }
  } catch (const po::error& e) {
    throw ConfigError(std::string("replay: ") + e.what() + " (see ferret replay --help)");
  }
  try {
    return replay_run(run, round, std::cout).identical ? 0 : 1;
  } catch (const std::exception& e) {  // one process, nothing to abort: one line and exit 2
    std::cerr << "ferret replay: error: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace ferret
