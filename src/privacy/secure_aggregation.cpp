// defines: the implementation of secure_aggregation.hpp
#include "privacy/secure_aggregation.hpp"

#include <sodium.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ferret {
namespace {

constexpr double kLimit = 4611686018427387904.0;  // 2^62: |a sum| stays below it, far from wrapping at 2^63

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised (no system randomness?)");
}

}  // namespace

KeyPair::KeyPair() {
  init_sodium();
  randombytes_buf(secret_.data(), secret_.size());
  crypto_scalarmult_base(public_.data(), secret_.data());
}

KeyPair::~KeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

SharedKey KeyPair::shared_with(const PublicKey& theirs, bool mine_first) const {
  std::array<uint8_t, crypto_scalarmult_BYTES> point{};
  if (crypto_scalarmult(point.data(), secret_.data(), theirs.data()) != 0)
    throw std::runtime_error("secure aggregation: a peer's public key is degenerate (X25519 gave zero)");
  crypto_generichash_state h;
  crypto_generichash_init(&h, nullptr, 0, 32);
  crypto_generichash_update(&h, point.data(), point.size());
  const PublicKey& first = mine_first ? public_ : theirs;
  const PublicKey& second = mine_first ? theirs : public_;
  crypto_generichash_update(&h, first.data(), first.size());
  crypto_generichash_update(&h, second.data(), second.size());
  SharedKey key{};
  crypto_generichash_final(&h, key.data(), key.size());
  sodium_memzero(point.data(), point.size());
  return key;
}

void add_pairwise_masks(std::span<uint64_t> values, int my_id, std::span<const MaskPeer> peers, uint64_t round) {
  init_sodium();
  std::vector<uint64_t> mask(values.size());
  std::array<uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  std::memcpy(nonce.data(), &round, sizeof round);  // one stream per (pair, round): never reused
  for (const MaskPeer& p : peers) {
    if (p.id == my_id) throw std::invalid_argument("secure aggregation: a party cannot be its own peer");
    crypto_stream_chacha20_ietf(reinterpret_cast<unsigned char*>(mask.data()), mask.size() * sizeof(uint64_t),
                                nonce.data(), p.key.data());
    if (my_id < p.id)
      for (size_t i = 0; i < values.size(); ++i) values[i] += mask[i];
    else
      for (size_t i = 0; i < values.size(); ++i) values[i] -= mask[i];
  }
  sodium_memzero(mask.data(), mask.size() * sizeof(uint64_t));
}

FixedPoint::FixedPoint(double max_abs_sum) {
  if (!(std::isfinite(max_abs_sum) && max_abs_sum > 0))
    throw std::invalid_argument("fixed point: the bound of a sum must be finite and > 0, not " + std::to_string(max_abs_sum));
  const int e = static_cast<int>(std::floor(std::log2(kLimit / max_abs_sum)));  // largest 2^e with bound·2^e ≤ 2^62
  if (e < 0)
    throw std::invalid_argument("fixed point: a sum bounded by " + std::to_string(max_abs_sum) +
                                " does not fit 62 bits at a resolution of 1 or finer");
  scale_ = std::ldexp(1.0, std::min(e, 1000));
}

void FixedPoint::quantize(std::span<const float> x, std::span<uint64_t> out) const {
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = std::nearbyint(static_cast<double>(x[i]) * scale_);
    if (!(std::fabs(v) < kLimit))
      throw std::invalid_argument("fixed point: value " + std::to_string(x[i]) + " exceeds the bound the scale was chosen for");
    out[i] = static_cast<uint64_t>(static_cast<int64_t>(v));  // two's complement: negatives wrap as they must
  }
}

void FixedPoint::dequantize(std::span<const uint64_t> sum, std::span<float> out) const {
  for (size_t i = 0; i < sum.size(); ++i)
    out[i] = static_cast<float>(static_cast<double>(static_cast<int64_t>(sum[i])) / scale_);
}

}  // namespace ferret
