// Secure aggregation's math: X25519 pair keys agree, masks cancel exactly in ℤ_{2⁶⁴}, a masked
// vector looks uniform, fixed point round-trips within its resolution.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "privacy/secure_aggregation.hpp"

using namespace ferret;

TEST(SecureAggregation, PairKeysAgreeAndDifferPerPairAndRun) {
  const KeyPair a, b, c;
  EXPECT_EQ(a.shared_with(b.public_key(), true), b.shared_with(a.public_key(), false));
  EXPECT_NE(a.shared_with(b.public_key(), true), a.shared_with(c.public_key(), true));
  const KeyPair a_again;  // a fresh run: fresh keys
  EXPECT_NE(a.public_key(), a_again.public_key());
  EXPECT_THROW(a.shared_with(PublicKey{}, true), std::runtime_error);  // the all-zero point
}

TEST(SecureAggregation, MasksCancelExactlyInTheSum) {
  constexpr int kParties = 5;
  constexpr size_t kLength = 1000;
  std::vector<std::unique_ptr<KeyPair>> keys;
  for (int i = 0; i < kParties; ++i) keys.push_back(std::make_unique<KeyPair>());
  const FixedPoint fp(kParties * 10.0);  // every value in [-10, 10]
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-10.0f, 10.0f);
  std::vector<uint64_t> plain(kLength, 0), masked_sum(kLength, 0);
  std::vector<double> exact(kLength, 0.0);
  for (int me = 0; me < kParties; ++me) {
    std::vector<float> x(kLength);
    for (float& v : x) v = value(rng);
    std::vector<uint64_t> q(kLength);
    fp.quantize(x, q);
    const uint64_t own = q[0];
    for (size_t i = 0; i < kLength; ++i) plain[i] += q[i], exact[i] += x[i];
    std::vector<MaskPeer> peers;
    for (int p = 0; p < kParties; ++p)
      if (p != me) peers.push_back({p, keys[me]->shared_with(keys[p]->public_key(), me < p)});
    add_pairwise_masks(q, me, peers, /*round=*/3);
    EXPECT_NE(q[0], own);  // what leaves a party is not its value
    for (size_t i = 0; i < kLength; ++i) masked_sum[i] += q[i];
  }
  EXPECT_EQ(masked_sum, plain);  // exact, modulo 2^64
  std::vector<float> sum(kLength);
  fp.dequantize(masked_sum, sum);
  for (size_t i = 0; i < kLength; ++i) EXPECT_NEAR(sum[i], exact[i], kParties * fp.resolution() / 2 + 1e-5 * std::fabs(exact[i]));
}

TEST(SecureAggregation, AMaskedVectorIsIndistinguishableFromUniform) {
  // A party uploading zeros with one peer, over 64 rounds of 1024 values: every byte value of the
  // top byte equally often (χ² with 255 degrees of freedom far below its 6σ bound), each bit half
  // the time, and no round's stream equal to another's.
  const KeyPair me, peer;
  const std::vector<MaskPeer> peers = {{1, me.shared_with(peer.public_key(), true)}};
  std::vector<double> bins(256, 0.0), ones(64, 0.0);
  std::vector<uint64_t> first;
  double n = 0;
  for (uint64_t round = 0; round < 64; ++round) {
    std::vector<uint64_t> v(1024, 0);
    add_pairwise_masks(v, 0, peers, round);
    if (round == 0) first = v;
    else EXPECT_NE(v, first);
    for (uint64_t x : v) {
      bins[x >> 56] += 1, n += 1;
      for (int b = 0; b < 64; ++b) ones[b] += (x >> b) & 1;
    }
  }
  double chi2 = 0;
  for (double c : bins) chi2 += (c - n / 256) * (c - n / 256) / (n / 256);
  EXPECT_LT(chi2, 255 + 6 * std::sqrt(2 * 255.0));
  for (double o : ones) EXPECT_NEAR(o / n, 0.5, 6 * 0.5 / std::sqrt(n));
}

TEST(SecureAggregation, FixedPointRoundTripsWithinItsResolutionAndRefusesWhatCouldWrap) {
  const FixedPoint fp(100.0);
  EXPECT_EQ(std::log2(fp.scale()), std::floor(std::log2(fp.scale())));  // a power of two
  EXPECT_LE(100.0 * fp.scale(), 4611686018427387904.0);
  const std::vector<float> x = {-99.5f, -1e-6f, 0.0f, 3.25f, 99.99f};
  std::vector<uint64_t> q(x.size());
  fp.quantize(x, q);
  std::vector<float> back(x.size());
  fp.dequantize(q, back);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], fp.resolution() / 2 + 1e-6 * std::fabs(x[i]));
  EXPECT_THROW(FixedPoint(std::numeric_limits<double>::infinity()), std::invalid_argument);
  EXPECT_THROW(FixedPoint(0.0), std::invalid_argument);
  EXPECT_THROW(FixedPoint(1e30), std::invalid_argument);
  const std::vector<float> too_big = {1e30f};
  EXPECT_THROW(fp.quantize(too_big, q), std::invalid_argument);
}
