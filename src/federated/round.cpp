// defines: One round's phases (round.hpp). The order of every float operation is that of the round loop
// before it was split into phases, so a seed gives the same bits as before.
#include "federated/round.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <string>

#include "federated/sampling.hpp"
#include "io/checksum.hpp"
#include "federated/signals.hpp"
#include "model/local_training.hpp"

namespace ferret {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// x's memory as a span (host or device, as the tensor is).
std::span<float> span_of(torch::Tensor& x) { return {x.data_ptr<float>(), static_cast<size_t>(x.numel())}; }

// ‖x‖² in double, x in `space`'s memory.
double sq_norm(const ParamKernels& space, std::span<const float> x) {
  const Block all{"all", 0, x.size()};
  return space.block_sq_norms(std::span(&all, 1), x)[0];
}

// Why a client's update must not be aggregated ("" if it may): a non-finite training loss,
// non-finite entries (their squared norm `sq`, summed in double, is then not finite: finite floats
// cannot overflow it), or a norm above --max-update-norm (0 = no limit).
std::string rejection_reason(double sq, double loss, double max_norm) {
  if (!std::isfinite(loss)) return "training loss is " + std::to_string(loss);
  if (!std::isfinite(sq)) return "it holds NaN/Inf values";
  if (max_norm > 0.0 && std::sqrt(sq) > max_norm)
    return "norm " + std::to_string(std::sqrt(sq)) + " > --max-update-norm " + std::to_string(max_norm);
  return {};
}

}  // namespace

Traffic traffic_of(const Comm& comm, const DataComm& data_comm) {
  Traffic t = comm.traffic();
  if (&data_comm != &comm) {
    const Traffic& d = data_comm.traffic();
    t.up += d.up, t.down += d.down, t.control += d.control;
  }
  return t;
}

RoundBuffers allocate_round_buffers(const RunState& st, const DataComm& data_comm) {
  RoundBuffers b;
  const bool zeroth_order = st.algorithm->zeroth_order();
  b.payload = st.algorithm->payload_size();
  const auto param_options = st.fp.flat.options();
  const auto host_options = torch::TensorOptions().dtype(torch::kFloat32);
  b.w_start = torch::empty({static_cast<int64_t>(st.fp.size())}, param_options);
  const auto size = static_cast<int64_t>(zeroth_order ? b.payload : st.fp.size());
  b.contribution = torch::empty({size}, zeroth_order ? host_options : param_options);
  b.contribution_sum = torch::empty({size}, zeroth_order ? host_options : param_options);
  b.contribution_space = zeroth_order ? &host_param_kernels() : st.compute.kernels;
  const auto upload_options = data_comm.device_buffers() ? param_options : host_options;
  b.upload = torch::empty({static_cast<int64_t>(b.payload + UploadHeader::kFloats)}, upload_options);
  if (st.privacy && st.privacy->on()) {
    b.client_payload = torch::empty({static_cast<int64_t>(b.payload)}, host_options);
    b.payload_sum = torch::empty({static_cast<int64_t>(b.payload)}, host_options);
  }
  return b;
}

RoundPlan plan_round(const Config& c, int64_t r, int world_size) {
  RoundPlan plan;
  plan.index = r;
  plan.round = static_cast<uint32_t>(r);
  plan.selected = sample_clients(c.seed, plan.round, static_cast<int>(c.num_clients), c.participation);
  plan.senders = sender_ranks(plan.selected, world_size);
  return plan;
}

RoundPlan plan_private_round(const Config& c, int64_t r, Comm& comm, ClientPrivacy& privacy) {
  RoundPlan plan;
  plan.index = r;
  plan.round = static_cast<uint32_t>(r);
  plan.selected = privacy.sample(comm, static_cast<int>(c.num_clients));
  plan.senders = sender_ranks(plan.selected, comm.size());
  return plan;
}

Round::Round(const Config& config, Comm& comm, RunState& st, RoundBuffers& buffers, const UpdateFault& fault)
    : config_(config), comm_(comm), data_(data_plane(st, comm)), st_(st), buf_(buffers), fault_(fault) {}

// A client's contribution into buf_.contribution: its update Δ = w_start − w_end (first order), or
// its K scalar gradients (zeroth order). Returns its training loss.
double Round::train_one(int cl, const RoundPlan& plan) {
  const auto client = static_cast<uint32_t>(cl);
  {
    torch::NoGradGuard no_grad;
    st_.fp.flat.copy_(buf_.w_start);
  }
  if (st_.algorithm->zeroth_order()) {
    buf_.contribution.zero_();
    torch::NoGradGuard no_grad;
    LossProbe probe(st_.model, st_.encoded[cl], config_, plan.round, client);
    const ZerothOrderModel zo{[&] { probe.next_batch(); }, [&] { return probe.loss(); }, st_.fp.span()};
    return st_.algorithm->train_zeroth_order(zo, plan.round, client, span_of(buf_.contribution));
  }
  const double loss = train_client(st_.model, st_.encoded[cl], config_, plan.round, client);
  torch::sub_out(buf_.contribution, buf_.w_start, st_.fp.flat);
  return loss;
}

LocalResult Round::train(const RoundPlan& plan) {
  {
    torch::NoGradGuard no_grad;
    buf_.w_start.copy_(st_.fp.flat);
    buf_.contribution_sum.zero_();
    if (buf_.payload_sum.defined()) buf_.payload_sum.zero_();
  }
  const bool private_round = st_.privacy->on();
  LocalResult out;
  out.client_loss.assign(config_.num_clients, 0.0f);
  // Zeroth-order scalar gradients have no parameter-space norm to bound: only non-finite ones are refused.
  const double max_norm = st_.algorithm->zeroth_order() ? 0.0 : config_.max_update_norm;
  for (int cl : plan.selected) {
    if (rank_of_client(cl, comm_.size()) != comm_.rank()) continue;
    const double loss = train_one(cl, plan);
    const double w = private_round || config_.client_weighting == ClientWeighting::equal
                         ? 1.0
                         : static_cast<double>(st_.encoded[cl].size());
    out.client_loss[cl] = static_cast<float>(loss);
    if (fault_) fault_(cl, buf_.contribution);
    const double sq = sq_norm(*buf_.contribution_space, span_of(buf_.contribution));
    if (const std::string why = rejection_reason(sq, loss, max_norm); !why.empty()) {
      std::cerr << "ferret: warning (rank " << comm_.rank() << "): round " << plan.index + 1 << ": client " << cl
                << "'s update dropped: " << why << std::endl;
      out.dropped += 1.0;
      continue;
    }
    st_.algorithm->observe_client_delta(span_of(buf_.contribution));
    if (private_round) {  // this client's own upload, clipped to C, summed with weight 1
      st_.algorithm->encode(span_of(buf_.contribution), span_of(buf_.client_payload));
      st_.privacy->clip(span_of(buf_.client_payload));
      buf_.payload_sum.add_(buf_.client_payload);
    } else {
      buf_.contribution_sum.add_(buf_.contribution, static_cast<float>(w));
    }
    out.weight_sum += w, out.weighted_loss += w * loss, out.accepted += 1.0;
  }
  torch::NoGradGuard no_grad;
  st_.fp.flat.copy_(buf_.w_start);  // back to the global model
  return out;
}

void Round::agree(const RoundPlan& plan) {
  const auto t0 = Clock::now();
  st_.algorithm->agree(comm_, plan.senders);
  if (plan.senders[comm_.rank()]) times_.comm += seconds_since(t0);  // elsewhere: only the wait for the senders' norms
}

void Round::encode(const RoundPlan& plan, const LocalResult& local) {
  buf_.upload.zero_();
  torch::Tensor step = buf_.step();
  if (plan.senders[comm_.rank()]) {
    if (st_.privacy->on()) {
      step.copy_(buf_.payload_sum);  // already the clients' payloads (train)
      if (st_.secure) st_.privacy->add_noise(span_of(step), static_cast<int>(std::count(plan.senders.begin(), plan.senders.end(), true)));
    } else {
      st_.algorithm->encode(span_of(buf_.contribution_sum), span_of(step));
    }
  }
  buf_.upload.narrow(0, static_cast<int64_t>(buf_.payload), UploadHeader::kFloats)
      .copy_(torch::tensor({static_cast<float>(local.weight_sum), static_cast<float>(local.weighted_loss),
                            static_cast<float>(local.accepted), static_cast<float>(local.dropped)}));
}

UploadHeader Round::upload(const RoundPlan& plan) {
  if (st_.secure) st_.secure->reduce(comm_, span_of(buf_.upload), plan.senders, plan.round);
  else data_.reduce_sum_to_root(span_of(buf_.upload), plan.senders);
  const torch::Tensor h = buf_.upload.narrow(0, static_cast<int64_t>(buf_.payload), UploadHeader::kFloats).to(torch::kCPU);
  return {h[0].item<float>(), h[1].item<float>(), h[2].item<float>(), h[3].item<float>()};
}

void Round::server_step(const UploadHeader& total, int64_t round) {
  if (!comm_.is_root()) return;
  torch::Tensor step = buf_.step();
  if (st_.privacy->on()) {  // host payloads (--data-comm mpi): noise, then the fixed denominator q·N
    if (!st_.secure) st_.privacy->add_noise(span_of(step));  // else the senders added it, in shares
    st_.server->step(span_of(step), st_.privacy->denominator(), round);
    return;
  }
  if (total.weight > 0.0) {
    // The server optimizer works on the host: a device step (NCCL) visits it and comes back.
    torch::Tensor host_step = step.to(torch::kCPU);
    st_.server->step(span_of(host_step), total.weight, round);
    if (!step.is_cpu()) step.copy_(host_step);
  } else {
    step.zero_();  // every update was dropped: the model stays
  }
}

void Round::broadcast() {
  torch::Tensor step = buf_.step();
  data_.broadcast_from_root(span_of(step));
}

void Round::apply() {
  torch::Tensor step = buf_.step();
  st_.algorithm->apply(span_of(step), st_.fp.span());
}

// Every rank's checksum of its replica; any difference ends the job on all ranks.
void Round::verify(int64_t round) {
  if (config_.verify_every <= 0 || (round + 1) % config_.verify_every != 0) return;
  const torch::Tensor host = st_.fp.on_host();
  const auto differing = ranks_differing_from_root(comm_.allgather(checksum_floats({host.data_ptr<float>(), st_.fp.size()})));
  if (differing.empty()) return;
  std::string list;
  for (int r : differing) list += (list.empty() ? "" : ",") + std::to_string(r);
  throw std::runtime_error("replica drift after round " + std::to_string(round + 1) + ": rank(s) " + list +
                           " differ from rank 0");
}

RoundStats Round::gather_stats(const Traffic& sent, const UploadHeader& total, std::vector<float> client_loss) {
  // One control message each for the maxima (times and the stop signal, so that all ranks stop
  // after the same round) and the sums (bytes).
  const RoundTimes& t = times_;
  std::vector<double> maxima{t.local, t.project, t.comm, t.reconstruct, t.round, t.wait, double(stop_requested())};
  std::vector<double> sums{static_cast<double>(sent.up), static_cast<double>(sent.down), static_cast<double>(sent.control)};
  comm_.allreduce_control(maxima, Comm::Op::max);
  comm_.allreduce_control(sums, Comm::Op::sum);
  RoundStats s;
  s.times = {maxima[0], maxima[5], maxima[1], maxima[2], maxima[3], maxima[4]};
  s.bytes = {static_cast<uint64_t>(sums[0]), static_cast<uint64_t>(sums[1]), static_cast<uint64_t>(sums[2])};
  s.stop_signal = static_cast<int>(maxima[6]);
  s.train_loss = total.weight > 0.0 ? total.weighted_loss / total.weight : std::nan("");
  s.dropped = static_cast<int64_t>(total.dropped);
  s.client_loss = std::move(client_loss);
  return s;
}

RoundStats Round::run(const RoundPlan& plan) {
  const auto round_start = Clock::now();
  const Traffic traffic_before = traffic_of(comm_, data_);
  const int64_t r = plan.index;
  times_ = {};
  st_.algorithm->begin_round(plan.round);

  auto t0 = Clock::now();
  LocalResult local = train(plan);
  times_.local = seconds_since(t0);
  // Wait here for the slowest rank, so that the communication times below measure transfers, not
  // the imbalance of local training (which this separates out as time_wait).
  t0 = Clock::now();
  comm_.barrier();
  times_.wait = seconds_since(t0);

  agree(plan);
  t0 = Clock::now();
  encode(plan, local);
  times_.project = seconds_since(t0);

  t0 = Clock::now();
  const UploadHeader total = upload(plan);
  if (!plan.senders[comm_.rank()]) t0 = Clock::now();  // a rank that uploads nothing only waited for the senders
  server_step(total, r);
  broadcast();
  times_.comm += seconds_since(t0);

  t0 = Clock::now();
  apply();
  times_.reconstruct = seconds_since(t0);

  comm_.reduce_sum_to_root_control(local.client_loss);
  verify(r);
  times_.round = seconds_since(round_start);
  return gather_stats(traffic_of(comm_, data_) - traffic_before, total, std::move(local.client_loss));
}

}  // namespace ferret
