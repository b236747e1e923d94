// defines: CounterRng (counter_rng.hpp): two 64-bit outputs per Philox call, unbiased bounded draws.
#include "random/counter_rng.hpp"

#include <stdexcept>

namespace ferret {

CounterRng::CounterRng(uint64_t seed, uint32_t domain, uint32_t a, uint32_t b)
    : key_(philox_key(splitmix64(seed ^ (0xD1B54A32D192ED03ull * (static_cast<uint64_t>(domain) + 1))))), a_(a), b_(b) {}

uint64_t CounterRng::next_u64() {
  if (buffered_ == 0) {
    const auto w = philox4x32_10({static_cast<uint32_t>(block_), static_cast<uint32_t>(block_ >> 32), a_, b_}, key_);
    ++block_;
    buffer_ = {(static_cast<uint64_t>(w[1]) << 32) | w[0], (static_cast<uint64_t>(w[3]) << 32) | w[2]};
    buffered_ = 2;
  }
  return buffer_[2 - buffered_--];
}

double CounterRng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

uint64_t CounterRng::below(uint64_t n) {
  if (n == 0) throw std::invalid_argument("CounterRng::below(0): allowed n >= 1");
  // Reject the lowest 2^64 mod n values so that the accepted range is a multiple of n.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = next_u64();
    if (x >= threshold) return x % n;
  }
}

}  // namespace ferret
