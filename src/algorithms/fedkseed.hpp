// defines: FedKSeedAlgorithm — the zeroth-order baseline (Qin et al., ICML 2024)
//
// K candidate directions z_0 … z_{K−1} ∈ R^d, N(0, I), fixed for the whole run and regenerated
// from the run seed by every rank (Philox, random/basis.hpp: gaussian, round kCandidateRound, block 0, index k).
// A client takes T zeroth-order steps, each on one candidate s (uniform, or FedKSeed-Pro's
// probabilities):  g = (ℓ(w + εz_s) − ℓ(w − εz_s)) / 2ε,   w ← w − η g z_s,   a_s += g.
// Its upload is the K-vector a of accumulated scalar gradients; the server averages them (weighted)
// into the step s̄, and every rank replays w ← w − η Σ_{k: s̄_k ≠ 0} s̄_k z_k. Nothing of size d
// travels, but every rank regenerates a d-vector per non-zero seed: that replay, not training,
// dominates FedKSeed's round (the paper's Table 4: 123.8 s of 180.7 s at 3B).
// FedKSeed-Pro (--fedkseed-pro): seed s is drawn with p = softmax(minmax(score)), score_s = mean of
// |clip(ĝ, ±1000)| over the history of s's aggregated gradients ĝ (initialised with one 0), the
// same on every rank because every rank sees the same broadcast steps.
#pragma once

#include "algorithms/algorithm.hpp"
#include "random/basis.hpp"

namespace ferret {

class FedKSeedAlgorithm final : public Algorithm {
 public:
  static constexpr uint32_t kCandidateRound = 0xFFFFFFFFu;  // the pool does not change with the round

  FedKSeedAlgorithm(const Config& config, std::span<const ParamInfo> params);
  size_t payload_size() const override { return k_; }
  bool zeroth_order() const override { return true; }
  // T zeroth-order steps, each on one candidate seed s,
  //   g = (ℓ(w + εz_s) − ℓ(w − εz_s)) / 2ε,   w ← w − η (g z_s + λ w),   contribution[s] += g.
  // A step whose g is not finite is skipped, as in the reference code. Returns the mean loss
  // ℓ(w + εz_s) over the steps taken (NaN if none).
  double train_zeroth_order(const ZerothOrderModel& model, uint32_t round, uint32_t client,
                            std::span<float> contribution) const override;
  void begin_round(uint32_t) override {}
  void observe_client_delta(std::span<const float>) override {}
  void agree(DataComm&, const std::vector<bool>&) override {}
  void encode(std::span<const float> contribution_sum, std::span<float> payload) override;
  void apply(std::span<const float> step, std::span<float> params) override;
  double decoded_norm(std::span<const float> step) const override;
  std::span<const Block> blocks() const override { return {}; }
  std::vector<int32_t> allocation() const override { return {}; }
  std::vector<float> state() const override;
  void set_state(std::span<const float> state) override;

  // ---- client side (train_zeroth_order; public for tests) ----
  // The candidate for step `step` of `client` in `round`.
  uint32_t draw_candidate(uint32_t round, uint32_t client, uint32_t step) const;
  // params += alpha · z_k (multithreaded over coordinate tiles).
  void add_candidate(uint32_t k, float alpha, std::span<float> params) const;
  float eps() const { return eps_; }
  float lr() const { return lr_; }

  // Seed probabilities (uniform unless --fedkseed-pro).
  const std::vector<double>& probabilities() const { return probabilities_; }

 private:
  void update_probabilities();

  uint32_t k_;
  uint64_t seed_;
  uint64_t d_;
  float eps_, lr_;
  int64_t local_steps_;
  double weight_decay_;
  bool pro_;
  BasisGenerator generator_;
  // FedKSeed-Pro: Σ|clip(ĝ_s)| and how many, in float so a checkpoint holds them exactly (resume is bitwise).
  std::vector<float> history_sum_, history_count_;
  std::vector<double> probabilities_, cumulative_;
};

}  // namespace ferret
