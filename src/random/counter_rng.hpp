// defines: CounterRng, RngDomain — the general-purpose random stream (client sampling, batches)
#pragma once

#include <array>
#include <cstdint>

#include "random/philox.hpp"

namespace ferret {

// Stream domains of CounterRng: each use of the stream has its own key (basis streams live in their
// own key space, basis.hpp).
enum RngDomain : uint32_t {
  kDomainClientSampling = 1,
  kDomainBatches = 2,
  kDomainCandidate = 0x46'4B'53'44,  // "FKSD": FedKSeed's seed draws
};

// ---- General-purpose stream ---------------------------------------------------------------------
// Random numbers for everything other than bases (client sampling, batch indices). Output number i
// is a pure function of (seed, domain, a, b, i): restart a stream by constructing it again.
// Key = splitmix64(seed ^ T(domain)) with T(domain) = 0xD1B54A32D192ED03·(domain + 1) ≠ 0, so for
// one seed every domain has its own key, different from the basis key splitmix64(seed) (splitmix64
// is a bijection); counter = {i/2 low, i/2 high, a, b}, each Philox call giving two 64-bit outputs.
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint32_t domain, uint32_t a, uint32_t b);
  uint64_t next_u64();
  double uniform();              // in [0, 1), 53 random bits
  uint64_t below(uint64_t n);    // uniform in [0, n), unbiased (rejection); throws if n == 0

 private:
  std::array<uint32_t, 2> key_;
  uint32_t a_, b_;
  uint64_t block_ = 0;           // next Philox counter
  std::array<uint64_t, 2> buffer_{};
  int buffered_ = 0;             // unread outputs left in buffer_ (read in order 0, 1)
};

}  // namespace ferret
