// defines: Rank 0's recording of the run (record.hpp).
#include "federated/record.hpp"

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <sstream>

#include "federated/checkpointing.hpp"
#include "model/evaluation.hpp"

namespace fs = std::filesystem;

namespace ferret {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000.0 && u < 4) b /= 1000.0, ++u;
  std::ostringstream os;
  os << std::fixed << std::setprecision(u == 0 ? 0 : 1) << b << " " << units[u];
  return os.str();
}

std::string clock_text(double s) {
  const auto t = static_cast<int64_t>(std::lround(s));
  std::ostringstream os;
  if (t >= 3600) os << t / 3600 << ":" << std::setw(2) << std::setfill('0') << (t / 60) % 60;
  else os << t / 60;
  os << ":" << std::setw(2) << std::setfill('0') << t % 60;
  return os.str();
}

}  // namespace

Recorder::Recorder(const Config& config, const Comm& comm, RunState& st, std::ostream& log)
    : config_(config), comm_(comm), st_(st), log_(log) {}

bool Recorder::rouge_round(int64_t r) const {
  return !st_.rouge_examples.empty() && ((r + 1) % config_.eval_every == 0 || r + 1 == config_.rounds);
}

double Recorder::begin() {
  if (!comm_.is_root()) return 0.0;
  const Config& c = config_;
  log_ << to_ini(c) << "# " << st_.model_description << "\n# device: " << st_.compute.description
       << "\n# ranks = " << comm_.size() << ", trainable parameters d = " << st_.fp.size() << ", blocks L = "
       << st_.algorithm->blocks().size() << ", upload = " << st_.algorithm->payload_size() << " floats + "
       << UploadHeader::kFloats * sizeof(float) << " B header per sending rank\n";
  if (st_.secure) log_ << "# " << st_.secure->describe() << "\n";
  double loss = 0.0;
  {
    PrecisionScope precision(c.dtype, st_.compute.device);
    loss = eval_loss(st_.model, st_.eval_encoded);
  }
  if (st_.start_round == 0) {
    st_.metrics->write_initial_eval_loss(loss);
    log_ << "round 0/" << c.rounds << " | eval " << std::fixed << std::setprecision(4) << loss;
    if (!st_.rouge_examples.empty()) {  // the "before" of a pretrained model's Rouge-L
      PrecisionScope precision(c.dtype, st_.compute.device);
      const double rouge = eval_rouge_l(st_.model, *st_.tokenizer, st_.rouge_examples, c.max_new_tokens, st_.prompt_template);
      st_.metrics->write_initial_rouge_l(rouge);
      log_ << " | rougeL " << std::setprecision(3) << rouge;
    }
    log_ << "\n";
  } else {
    log_ << "resumed from " << st_.paths.resume_from << " after round " << st_.start_round << " | eval " << std::fixed
         << std::setprecision(4) << loss << "\n";
  }
  log_.flush();
  return loss;
}

double Recorder::record(const RoundPlan& plan, const RoundStats& s, const RoundBuffers& buffers, bool stop_now) {
  if (!comm_.is_root()) return 0.0;
  const Config& c = config_;
  const int64_t r = plan.index;
  RoundRecord rec;
  const auto eval_start = Clock::now();
  PrecisionScope precision(c.dtype, st_.compute.device);
  rec.eval_loss = eval_loss(st_.model, st_.eval_encoded);
  const double loss_seconds = seconds_since(eval_start);
  const bool rouge = rouge_round(r);
  rec.rouge_l = rouge ? eval_rouge_l(st_.model, *st_.tokenizer, st_.rouge_examples, c.max_new_tokens, st_.prompt_template)
                      : std::numeric_limits<double>::quiet_NaN();
  rec.time_eval = seconds_since(eval_start);
  rec.train_loss = s.train_loss;
  rec.bytes_up = s.bytes.up, rec.bytes_down = s.bytes.down, rec.bytes_control = s.bytes.control;
  rec.participants = static_cast<int32_t>(plan.selected.size());
  rec.senders = static_cast<int32_t>(std::count(plan.senders.begin(), plan.senders.end(), true));
  rec.time_local = s.times.local, rec.time_project = s.times.project, rec.time_comm = s.times.comm;
  rec.time_reconstruct = s.times.reconstruct, rec.time_round = s.times.round, rec.time_wait = s.times.wait;
  if (c.algorithm != AlgorithmKind::fedavg) {  // K floats: cheap to keep
    const torch::Tensor coefficients = buffers.step().to(torch::kCPU);
    rec.coefficients.assign(coefficients.data_ptr<float>(), coefficients.data_ptr<float>() + buffers.payload);
  }
  rec.client_train_loss.assign(c.num_clients, std::numeric_limits<float>::quiet_NaN());
  for (int cl : plan.selected) rec.client_train_loss[cl] = s.client_loss[cl];
  rec.allocation = st_.algorithm->allocation();
  if (st_.privacy->on()) rec.dp_epsilon = st_.privacy->epsilon();
  st_.metrics->append_round(rec);

  // ETA: every remaining round costs a round plus its eval loss; the remaining Rouge-L rounds
  // add their generation time on top.
  round_seconds_ += s.times.round + loss_seconds, ++rounds_timed_;
  if (rouge) rouge_seconds_ += rec.time_eval - loss_seconds, ++rouge_rounds_timed_;
  int64_t rouge_left = 0;
  for (int64_t q = r + 1; q < c.rounds; ++q) rouge_left += rouge_round(q);
  const double eta = round_seconds_ / rounds_timed_ * static_cast<double>(c.rounds - r - 1) +
                     (rouge_rounds_timed_ ? rouge_seconds_ / rouge_rounds_timed_ * rouge_left : 0.0);
  log_ << "round " << r + 1 << "/" << c.rounds << " | eval " << std::fixed << std::setprecision(4) << rec.eval_loss
       << " | train " << s.train_loss;
  if (rouge) log_ << " | rougeL " << std::setprecision(3) << rec.rouge_l;
  if (s.dropped > 0) log_ << " | dropped " << s.dropped;
  if (st_.privacy->on()) log_ << " | ε " << std::setprecision(3) << rec.dp_epsilon;
  log_ << " | up " << human_bytes(static_cast<double>(s.bytes.up)) << " down "
       << human_bytes(static_cast<double>(s.bytes.down)) << " | " << std::setprecision(2) << s.times.round
       << " s | ETA " << clock_text(eta) << "\n";
  log_.flush();

  const bool last = r + 1 == c.rounds || s.stop_signal != 0 || stop_now;
  if (last || (c.checkpoint_every > 0 && (r + 1) % c.checkpoint_every == 0))
    write_checkpoint((fs::path(st_.paths.checkpoints) / checkpoint_name(r + 1)).string(), make_checkpoint(c, st_, r + 1));
  return rec.eval_loss;
}

void Recorder::preempted(int64_t rounds_done, int signal) {
  if (!comm_.is_root()) return;
  log_ << "preempted by signal " << signal << ": checkpointed after round " << rounds_done << "/" << config_.rounds
       << "; continue with --resume auto\n";
}

void Recorder::budget_spent(int64_t rounds_done) {
  if (!comm_.is_root()) return;
  log_ << "privacy budget spent: round " << rounds_done + 1 << " would take epsilon to " << std::setprecision(4)
       << st_.privacy->epsilon_after_next_round()
       << " > --dp-target-epsilon " << config_.dp_target_epsilon << "; stopped after round " << rounds_done << "/"
       << config_.rounds << " (epsilon " << st_.privacy->epsilon() << " at delta " << config_.dp_delta << ")\n";
}

void Recorder::end() {
  if (comm_.is_root()) log_ << "metrics: " << fs::absolute(st_.paths.metrics).string() << "\n";
}

}  // namespace ferret
