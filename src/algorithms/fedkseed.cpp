// defines: the implementation of fedkseed.hpp
#include "algorithms/fedkseed.hpp"
#include "random/counter_rng.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ferret {
namespace {

uint64_t total_size(std::span<const ParamInfo> params) {
  uint64_t d = 0;
  for (const auto& p : params) d += p.numel;
  return d;
}

constexpr double kHistoryClip = 1000.0;  // FedKSeed-Pro's bias_loss_clip

}  // namespace

FedKSeedAlgorithm::FedKSeedAlgorithm(const Config& config, std::span<const ParamInfo> params)
    : k_(static_cast<uint32_t>(config.k)),
      seed_(config.seed),
      d_(total_size(params)),
      eps_(static_cast<float>(config.zo_eps)),
      lr_(static_cast<float>(config.lr)),
      local_steps_(config.local_steps),
      weight_decay_(config.weight_decay),
      pro_(config.fedkseed_pro),
      generator_(Basis::gaussian, config.seed, kCandidateRound, 0, total_size(params)),
      history_sum_(k_, 0.0f),
      history_count_(k_, 1.0f) {  // the history of every seed starts with one 0 (grad_initial)
  update_probabilities();
}

void FedKSeedAlgorithm::encode(std::span<const float> contribution_sum, std::span<float> payload) {
  if (contribution_sum.size() != k_ || payload.size() != k_)
    throw std::invalid_argument("fedkseed: contribution of " + std::to_string(contribution_sum.size()) +
                                " floats, allowed K = " + std::to_string(k_));
  std::copy(contribution_sum.begin(), contribution_sum.end(), payload.begin());
}

double FedKSeedAlgorithm::train_zeroth_order(const ZerothOrderModel& model, uint32_t round, uint32_t client,
                                             std::span<float> contribution) const {
  const std::span<float> params = model.params;
  double loss_sum = 0.0;
  int64_t taken = 0;
  for (int64_t step = 0; step < local_steps_; ++step) {
    model.next_batch();
    const uint32_t s = draw_candidate(round, client, static_cast<uint32_t>(step));
    add_candidate(s, eps_, params);         // w + εz
    const double plus = model.loss();
    add_candidate(s, -2.0f * eps_, params);  // w − εz
    const double minus = model.loss();
    add_candidate(s, eps_, params);         // back to w (up to float rounding, as in MeZO)
    const double g = (plus - minus) / (2.0 * static_cast<double>(eps_));
    if (!std::isfinite(g)) continue;
    if (weight_decay_ > 0.0) {
      const auto shrink = static_cast<float>(1.0 - static_cast<double>(lr_) * weight_decay_);
      for (float& w : params) w *= shrink;
    }
    add_candidate(s, static_cast<float>(-static_cast<double>(lr_) * g), params);
    contribution[s] += static_cast<float>(g);
    loss_sum += plus;
    ++taken;
  }
  return taken > 0 ? loss_sum / static_cast<double>(taken) : std::nan("");
}

void FedKSeedAlgorithm::add_candidate(uint32_t k, float alpha, std::span<float> params) const {
  const uint64_t tile = BasisGenerator::kMaxTile;
  const auto tiles = static_cast<int64_t>((d_ + tile - 1) / tile);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    const uint64_t j0 = static_cast<uint64_t>(t) * tile;
    generator_.accumulate(k, j0, std::min(tile, d_ - j0), alpha, params.data() + j0);
  }
}

void FedKSeedAlgorithm::apply(std::span<const float> step, std::span<float> params) {
  if (step.size() != k_ || params.size() != d_) throw std::invalid_argument("fedkseed: step size mismatch");
  std::vector<uint32_t> active;
  for (uint32_t k = 0; k < k_; ++k)
    if (step[k] != 0.0f) active.push_back(k);
  // Tile-outer, seed-inner: a tile of w stays in cache while every active z_k passes over it, and
  // each coordinate sums its seeds in index order whatever the thread count (bitwise reproducible).
  const uint64_t tile = BasisGenerator::kMaxTile;
  const auto tiles = static_cast<int64_t>((d_ + tile - 1) / tile);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    const uint64_t j0 = static_cast<uint64_t>(t) * tile;
    const uint64_t n = std::min(tile, d_ - j0);
    for (uint32_t k : active) generator_.accumulate(k, j0, n, -lr_ * step[k], params.data() + j0);
  }
  if (!pro_) return;
  for (uint32_t k : active) {
    history_sum_[k] += static_cast<float>(std::min(std::abs(static_cast<double>(step[k])), kHistoryClip));
    history_count_[k] += 1.0f;
  }
  update_probabilities();
}

double FedKSeedAlgorithm::decoded_norm(std::span<const float> step) const {
  // E‖η Σ_k s_k z_k‖² = η² d Σ_k s_k² for independent standard normal z_k.
  double sq = 0.0;
  for (float s : step) sq += static_cast<double>(s) * s;
  return static_cast<double>(lr_) * std::sqrt(static_cast<double>(d_) * sq);
}

uint32_t FedKSeedAlgorithm::draw_candidate(uint32_t round, uint32_t client, uint32_t step) const {
  CounterRng rng(seed_, kDomainCandidate, round, client * 1'000'003u + step);
  if (!pro_) return static_cast<uint32_t>(rng.below(k_));
  const double u = rng.uniform();
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  return static_cast<uint32_t>(std::min<std::ptrdiff_t>(it - cumulative_.begin(), k_ - 1));
}

void FedKSeedAlgorithm::update_probabilities() {
  probabilities_.assign(k_, 1.0 / k_);
  if (pro_) {
    std::vector<double> score(k_);
    for (uint32_t k = 0; k < k_; ++k) score[k] = static_cast<double>(history_sum_[k]) / history_count_[k];
    const auto [lo, hi] = std::minmax_element(score.begin(), score.end());
    const double range = *hi - *lo;
    double z = 0.0;
    for (uint32_t k = 0; k < k_; ++k) {
      probabilities_[k] = std::exp(range > 0.0 ? (score[k] - *lo) / range : 0.0);
      z += probabilities_[k];
    }
    for (double& p : probabilities_) p /= z;
  }
  cumulative_.resize(k_);
  double acc = 0.0;
  for (uint32_t k = 0; k < k_; ++k) cumulative_[k] = acc += probabilities_[k];
}

std::vector<float> FedKSeedAlgorithm::state() const {
  if (!pro_) return {};
  std::vector<float> s(history_sum_.begin(), history_sum_.end());
  s.insert(s.end(), history_count_.begin(), history_count_.end());
  return s;
}

void FedKSeedAlgorithm::set_state(std::span<const float> state) {
  if (!pro_) return;
  if (state.size() != 2 * static_cast<size_t>(k_))
    throw std::invalid_argument("fedkseed-pro: checkpoint state has " + std::to_string(state.size()) +
                                " floats, expected 2K = " + std::to_string(2 * k_));
  history_sum_.assign(state.begin(), state.begin() + k_);
  history_count_.assign(state.begin() + k_, state.end());
  update_probabilities();
}

}  // namespace ferret
