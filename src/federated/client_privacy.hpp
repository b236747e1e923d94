// defines: ClientPrivacy — client-level differential privacy in the round (--dp-clip C,
//          --dp-noise-multiplier z, --dp-delta δ, --dp-target-epsilon)
//
// The mechanism is DP-FedAvg's (McMahan et al. 2018) in the space of what clients upload:
//   sample  rank 0 draws every client independently with probability q = --participation from
//           randomness no seed rebuilds (privacy/secure_random.hpp) and tells the ranks;
//   clip    each client's own payload — Ferret's K coefficients of its Δ, FedAvg's Δ, FedKSeed's K
//           scalar gradients — is scaled to L2 norm ≤ C, then the rank sums them with weight 1;
//   noise   rank 0 adds N(0, z²C²) to every coordinate of the summed payloads and divides by the
//           fixed qN (the expected participants, not the drawn count, which would leak);
//   account every rank composes one round of the Poisson-subsampled Gaussian mechanism (q, z) in
//           its RDP accountant, so all ranks agree on ε and on when the target would be passed.
// Why the payload space: the server only ever sees Σ payloads, so adding or removing one client
// moves what it sees by at most C (L2) in exactly the space the noise is added in; the bases are
// public and data-independent, so reconstruction is post-processing. K's split over blocks must not
// read the data (--allocation norm is refused under DP).
#pragma once

#include <limits>
#include <span>
#include <vector>

#include "comm/mpi_comm.hpp"
#include "config/config.hpp"
#include "privacy/rdp_accountant.hpp"
#include "privacy/secure_random.hpp"

namespace ferret {

class ClientPrivacy {
 public:
  explicit ClientPrivacy(const Config& c);
  bool on() const { return clip_ > 0.0; }

  // The round's clients: drawn on rank 0, the same list on every rank (one control message).
  std::vector<int> sample(Comm& comm, int num_clients);
  // Scales one client's payload (host floats) to norm <= C; returns its norm before.
  double clip(std::span<float> payload) const;
  // N(0, z²C²/shares) added to each coordinate: rank 0 adds all of it to the sum (shares = 1);
  // under secure aggregation each of the S senders adds its 1/S share, so the total is N(0, z²C²)
  // and no single party sees the sum without noise.
  void add_noise(std::span<float> x, int shares = 1);
  // What the server divides the noisy sum by: q·N.
  double denominator() const { return q_ * static_cast<double>(num_clients_); }

  void account_round() { accountant_.compose(q_, z_); }
  double epsilon() const { return on() ? accountant_.epsilon(delta_) : std::numeric_limits<double>::infinity(); }
  // ε if one more round were composed (this run's q, z and δ).
  double epsilon_after_next_round() const { return accountant_.epsilon_after(q_, z_, delta_); }
  // True when one more round would take ε past --dp-target-epsilon (never without a target).
  bool next_round_exceeds_target() const;

  const RdpAccountant& accountant() const { return accountant_; }
  void restore(std::span<const double> rdp) { accountant_.set_rdp(rdp); }

 private:
  double clip_, z_, delta_, target_, q_;
  int64_t num_clients_;
  RdpAccountant accountant_;
  SecureRandom random_;
};

}  // namespace ferret
