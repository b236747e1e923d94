// defines: ServerOptimizer — rank 0's step from the aggregated client update to the applied one
//
// Input: the sum over clients of w_i · u_i (u_i a client's update in the algorithm's space: K
// coefficients for Ferret, d parameters for FedAvg) and the weight sum W = Σ w_i. Step:
//   g   = (Σ w_i u_i) / W                         weighted mean of the client updates
//   m  ← β m + g                                  heavy-ball momentum (β = --server-momentum; m = g when β = 0)
//   s   = η(r) · m                                η: --server-lr with its schedule over rounds
//   s  ← s · min(1, c / ‖s‖)                      clipping (c = --server-clip, 0 = off), ‖·‖ measured by
//                                                 the algorithm in parameter space
// Every rank then applies w ← w − reconstruct(s). Because the update is linear in s, momentum and
// clipping on the K-vector act exactly as they would on the reconstructed update.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ferret {

struct ServerOptions {
  double lr = 1.0;
  LrSchedule schedule = LrSchedule::constant;
  double lr_min = 0.0;
  int64_t rounds = 1;
  double momentum = 0.0;
  double clip = 0.0;
};

// Server learning rate of round r (0-based) out of R: constant η; linear η_min + (η − η_min)(1 − r/R);
// cosine η_min + (η − η_min)(1 + cos(π r / R)) / 2.
double server_lr_at(const ServerOptions&, int64_t round);

class ServerOptimizer {
 public:
  // `norm_of` measures an update vector's norm in parameter space (exact or estimated).
  ServerOptimizer(ServerOptions options, size_t dim, std::function<double(std::span<const float>)> norm_of);

  // In place: `update` holds Σ w_i u_i on entry, the step s to broadcast on exit.
  void step(std::span<float> update, double weight_sum, int64_t round);

  const std::vector<float>& momentum() const { return momentum_; }
  void set_momentum(std::vector<float> m);

 private:
  ServerOptions options_;
  std::vector<float> momentum_;  // empty when momentum == 0
  std::function<double(std::span<const float>)> norm_of_;
};

}  // namespace ferret
