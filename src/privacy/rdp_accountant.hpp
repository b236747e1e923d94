// defines: RdpAccountant — the privacy spent by rounds of the Poisson-subsampled Gaussian mechanism,
// in Rényi DP, and its conversion to (ε, δ)
//
// One round of client-level DP here (federated/ with --dp-clip) is the sampled Gaussian mechanism:
// each client takes part with probability q, its update is clipped to norm C, and N(0, z²C²) noise
// is added to the sum. Its RDP at order α is log(A_α)/(α − 1) (Mironov, Talwar, Zhang 2019, "Rényi
// Differential Privacy of the Sampled Gaussian Mechanism", Sec. 3.3: a binomial sum for integer α,
// a two-sided series with erfc for fractional α). Rounds compose by adding RDP order by order; ε at
// δ is the smallest over the orders of r + log(1 − 1/α) − log(δα)/(α − 1) (Balle et al. 2020,
// Thm. 21), the conversion Google's dp-accounting uses, with the same orders, so the two agree
// (tests/oracle/test_privacy_oracle.py). Plain C++: no MPI, no LibTorch.
#pragma once

#include <span>
#include <vector>

namespace ferret {

class RdpAccountant {
 public:
  RdpAccountant();  // the default orders (dp-accounting's): 1.1 .. 10.9 by 0.1, 11 .. 63, 128 .. 1024

  // Composes one round with sampling rate q in [0, 1] and noise multiplier z >= 0 (z = 0: ε = ∞).
  void compose(double q, double noise_multiplier, int rounds = 1);
  // ε at `delta` in (0, 1) for what has been composed (0 before any round, +∞ without noise).
  double epsilon(double delta) const;
  // ε if one more round (q, z) were composed: for --dp-target-epsilon, checked before the round.
  double epsilon_after(double q, double noise_multiplier, double delta) const;

  const std::vector<double>& orders() const { return orders_; }
  // The accumulated RDP per order: what a checkpoint stores, so a resume reports the same ε.
  const std::vector<double>& rdp() const { return rdp_; }
  void set_rdp(std::span<const double> rdp);  // std::invalid_argument on a wrong length or a negative entry

 private:
  std::vector<double> orders_, rdp_;
};

// RDP of one round of the Poisson-subsampled Gaussian mechanism at order α > 1.
double sampled_gaussian_rdp(double q, double noise_multiplier, double alpha);
// ε at δ from RDP values at the given orders (the minimum over orders, at least 0).
double epsilon_from_rdp(std::span<const double> orders, std::span<const double> rdp, double delta);

}  // namespace ferret
