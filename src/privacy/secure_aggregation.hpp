// defines: KeyPair, pairwise_secret, add_pairwise_masks, FixedPoint — the math of secure
//          aggregation: sums that the aggregator learns only in total
//
// Each sending party quantises its vector into ℤ_{2⁶⁴} (FixedPoint), adds for every other party p
// a mask stream ChaCha20(key_{me,p}, nonce = round): +mask if its id is below p's, −mask if above.
// Summed over the parties (an MPI_Reduce with MPI_SUM on uint64, exact modulo 2⁶⁴), the masks
// cancel and the aggregator gets Σ quantised values; any one party's masked vector is uniform to
// whoever lacks its pairwise keys. The keys come from X25519 key agreement (libsodium): every
// party makes a fresh key pair per run, only public keys travel, and key_{me,p} = BLAKE2b(X25519(
// my secret, p's public) ‖ both public keys in id order), the same on both sides and never derived
// from the run's seed (which the aggregator knows). Plain C++ over spans: no MPI.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace ferret {

using PublicKey = std::array<uint8_t, 32>;
using SharedKey = std::array<uint8_t, 32>;

class KeyPair {
 public:
  KeyPair();  // a fresh X25519 key pair from the OS's randomness; the secret never leaves the object
  ~KeyPair();  // wipes the secret (sodium_memzero)
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;

  const PublicKey& public_key() const { return public_; }
  // The key this party shares with the owner of `theirs`; std::runtime_error for a degenerate key.
  // `mine_first`: whether this party's id is the lower one (fixes the order both sides hash in).
  SharedKey shared_with(const PublicKey& theirs, bool mine_first) const;

 private:
  PublicKey public_{};
  std::array<uint8_t, 32> secret_{};
};

// One peer of a masked sum: its id (the ordering of the ±) and the key shared with it.
struct MaskPeer {
  int id;
  SharedKey key;
};

// values += Σ_p ±ChaCha20(key_p, round) modulo 2⁶⁴ (+ when my_id < p.id).
void add_pairwise_masks(std::span<uint64_t> values, int my_id, std::span<const MaskPeer> peers, uint64_t round);

// Fixed point in ℤ_{2⁶⁴}: x ↦ round(x · scale) as a two's-complement uint64, the scale a power of
// two chosen so that a sum bounded by `max_abs_sum` in every coordinate stays below 2⁶² in
// magnitude (a sum cannot wrap). resolution() is the quantisation step of one value.
class FixedPoint {
 public:
  // std::invalid_argument when max_abs_sum is not finite and > 0, or needs a scale below 1.
  explicit FixedPoint(double max_abs_sum);
  double scale() const { return scale_; }
  double resolution() const { return 1.0 / scale_; }
  void quantize(std::span<const float> x, std::span<uint64_t> out) const;  // std::invalid_argument if |x·scale| ≥ 2⁶²
  void dequantize(std::span<const uint64_t> sum, std::span<float> out) const;

 private:
  double scale_;
};

}  // namespace ferret
