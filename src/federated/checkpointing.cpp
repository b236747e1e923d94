// defines: Checkpoint contents (checkpointing.hpp): a rank's state in and out of io/'s Checkpoint.
#include "federated/checkpointing.hpp"

#include <algorithm>

#include "config/resume_rules.hpp"

namespace ferret {
namespace {

void load_checkpoint_into(const Checkpoint& ck, const Config& c, FlatParams& fp, ServerOptimizer& server,
                          Algorithm& algorithm, const std::string& path) {
  if (ck.algorithm != name_of(c.algorithm))
    throw ConfigError("--resume: '" + path + "' is a " + ck.algorithm + " run, but --algorithm = " +
                      std::string(name_of(c.algorithm)));
  if (ck.seed != c.seed)
    throw ConfigError("--resume: '" + path + "' has seed " + std::to_string(ck.seed) + ", but --seed = " + std::to_string(c.seed));
  if (ck.params.size() != fp.infos.size())
    throw ConfigError("--resume: '" + path + "' holds " + std::to_string(ck.params.size()) + " parameters, the model has " +
                      std::to_string(fp.infos.size()) + " (different model options?)");
  torch::Tensor host = fp.flat.is_cpu() ? fp.flat : torch::empty_like(fp.flat, torch::kCPU);
  float* data = host.data_ptr<float>();
  size_t offset = 0;
  for (size_t i = 0; i < fp.infos.size(); ++i) {
    const auto& t = ck.params[i];
    if (t.name != fp.infos[i].name || t.data.size() != fp.infos[i].numel)
      throw ConfigError("--resume: '" + path + "' parameter '" + t.name + "' does not match the model's '" +
                        fp.infos[i].name + "' (different model options?)");
    std::copy(t.data.begin(), t.data.end(), data + offset);
    offset += t.data.size();
  }
  if (!fp.flat.is_cpu()) {
    torch::NoGradGuard no_grad;
    fp.flat.copy_(host);
  }
  server.set_momentum(ck.server_momentum);
  algorithm.set_state(ck.server_state_extra);
}

}  // namespace

Checkpoint make_checkpoint(const Config& c, const RunState& st, int64_t round) {
  const FlatParams& fp = st.fp;
  Checkpoint ck;
  ck.round = round;
  ck.seed = c.seed;
  ck.algorithm = name_of(c.algorithm);
  ck.config = to_ini(c);
  const torch::Tensor host = fp.on_host();
  const float* data = host.data_ptr<float>();
  size_t offset = 0;
  for (size_t i = 0; i < fp.infos.size(); ++i) {
    const auto n = fp.infos[i].numel;
    ck.params.push_back({fp.infos[i].name, fp.shapes[i], std::vector<float>(data + offset, data + offset + n)});
    offset += n;
  }
  ck.server_momentum = st.server->momentum();
  ck.server_state_extra = st.algorithm->state();
  if (st.privacy && st.privacy->on()) ck.privacy_rdp = st.privacy->accountant().rdp();
  return ck;
}


void resume_from_checkpoint(const std::string& path, const Config& c, RunState& st) {
  Checkpoint ck;
  try {
    ck = read_checkpoint(path);
  } catch (const std::exception& e) {
    throw ConfigError(std::string("--resume: unreadable checkpoint: ") + e.what());
  }
  const ResumeChanges changes = compare_for_resume(ck.config, c);
  if (!changes.fixed.empty()) throw ConfigError(describe_refusal(changes.fixed, path));
  load_checkpoint_into(ck, c, st.fp, *st.server, *st.algorithm, path);
  if (st.privacy->on()) {  // the dp-* options are fixed on resume, so the run had an accountant
    if (ck.privacy_rdp.empty()) throw ConfigError("--resume: '" + path + "' holds no privacy accounting (/privacy/rdp)");
    try {
      st.privacy->restore(ck.privacy_rdp);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("--resume: '" + path + "' /privacy/rdp: " + e.what());
    }
  }
  st.start_round = ck.round;
  st.resume_changes = changes.recorded;
}

}  // namespace ferret
