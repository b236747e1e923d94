// defines: the implementation of secure_random.hpp
#include "privacy/secure_random.hpp"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ferret {
namespace {

// (0, 1]: never 0, so log() in Box–Muller is finite.
double open_unit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 1.0) * 0x1.0p-53; }

}  // namespace

SecureRandom::SecureRandom() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised (no system randomness?)");
}

double SecureRandom::uniform() {
  uint64_t bits = 0;
  randombytes_buf(&bits, sizeof bits);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

void SecureRandom::add_gaussian(std::span<float> x, double stddev) {
  // Two uniforms a pair of normals; drawn in chunks so a d-vector costs few system calls.
  constexpr size_t kChunk = 1 << 16;
  std::vector<uint64_t> bits;
  for (size_t begin = 0; begin < x.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, x.size() - begin), pairs = (n + 1) / 2;
    bits.resize(2 * pairs);
    randombytes_buf(bits.data(), bits.size() * sizeof(uint64_t));
    for (size_t p = 0; p < pairs; ++p) {
      const double r = std::sqrt(-2.0 * std::log(open_unit(bits[2 * p]))), t = 2.0 * M_PI * open_unit(bits[2 * p + 1]);
      x[begin + 2 * p] += static_cast<float>(stddev * r * std::cos(t));
      if (2 * p + 1 < n) x[begin + 2 * p + 1] += static_cast<float>(stddev * r * std::sin(t));
    }
  }
}

std::vector<int> SecureRandom::poisson_sample(int n, double q) {
  std::vector<int> chosen;
  for (int i = 0; i < n; ++i)
    if (uniform() < q) chosen.push_back(i);
  return chosen;
}

}  // namespace ferret
