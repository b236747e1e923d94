// defines: SecureRandom — randomness nobody can rebuild from the run's seed: the differential-privacy
// noise and the secret client sampling (libsodium's CSPRNG, the OS's getrandom underneath)
//
// Everything else in ferret draws from the seed, which every rank and every reader of metrics.h5
// knows: noise drawn from it could be subtracted again, and a sample drawn from it would be public,
// so the accountant's amplification by subsampling would not hold. A DP run is therefore not
// bit-reproducible; its steps are recorded (/coefficients), so `ferret replay` still rebuilds it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ferret {

class SecureRandom {
 public:
  SecureRandom();  // std::runtime_error when libsodium cannot initialise

  double uniform();                                        // [0, 1), 53 random bits
  void add_gaussian(std::span<float> x, double stddev);    // x_i += N(0, stddev²), i.i.d. (Box–Muller)
  std::vector<int> poisson_sample(int n, double q);        // each of 0..n-1 independently with probability q
};

}  // namespace ferret
