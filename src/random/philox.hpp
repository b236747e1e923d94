// defines: philox4x32_10, philox_words, splitmix64, philox_key — the one counter-based generator
//          and the one seed hash of ferret
//
// All randomness of a run is counter-based: every number is a pure function of the run seed and
// of a few integers naming what it is for. Ranks never exchange random numbers or RNG states; they
// regenerate whatever they need, in any order, with any number of threads. Bases (basis.hpp) and
// the general-purpose stream (counter_rng.hpp) are both Philox4x32-10 under different keys.
#pragma once

#include <array>
#include <cstdint>

namespace ferret {

// ---- Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC 2011) -----------------------------------------
// Same constants, round function and key schedule as Random123 and cuRAND, so outputs match their
// known-answer vectors. Written with plain 64-bit products and no branches so that a loop calling it
// over many counters is vectorized by the compiler (the basis hot loops rely on this).
inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;

inline std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n1 = static_cast<uint32_t>(p1);
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    const uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kPhiloxW0;  // the bump after the last round is unused (Random123 bumps between rounds)
    k1 += kPhiloxW1;
  }
  return {c0, c1, c2, c3};
}

// SplitMix64 finalizer (Steele, Lea, Flood 2014): a bijection of 64-bit integers with full
// avalanche, used to turn a user seed into a Philox key.
constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Words of philox4x32_10({first + i, c1, c2, c3}, key) for i < n into w0..w3 (structure of arrays),
// with the generator's own code (16 counters per vector on AVX-512 builds). The basis generator's
// bulk path; public for the benchmark's generation floor and for tests.
void philox_words(std::array<uint32_t, 2> key, uint32_t first, uint32_t c1, uint32_t c2, uint32_t c3, uint64_t n,
                  uint32_t* w0, uint32_t* w1, uint32_t* w2, uint32_t* w3);

// The Philox key of a 64-bit key value (low word first).
constexpr std::array<uint32_t, 2> philox_key(uint64_t key64) {
  return {static_cast<uint32_t>(key64), static_cast<uint32_t>(key64 >> 32)};
}

}  // namespace ferret
