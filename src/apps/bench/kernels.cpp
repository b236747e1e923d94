// defines: the implementation of kernels.hpp
#include "kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace ferret::bench {

KernelOp parse_kernel_op(std::string_view name) {
  if (name == "project") return KernelOp::project;
  if (name == "reconstruct") return KernelOp::reconstruct;
  throw std::invalid_argument("unknown operation '" + std::string(name) + "' (allowed: project, reconstruct)");
}

std::string_view to_string(KernelOp op) { return op == KernelOp::project ? "project" : "reconstruct"; }

void check_case(const KernelCase& c) {
  if (c.blocks < 1) throw std::invalid_argument("--blocks " + std::to_string(c.blocks) + " is not allowed (need >= 1)");
  if (c.d < c.blocks)
    throw std::invalid_argument("--d " + std::to_string(c.d) + " is smaller than --blocks " + std::to_string(c.blocks));
  if (c.k < c.blocks)
    throw std::invalid_argument("--k " + std::to_string(c.k) + " is smaller than --blocks " + std::to_string(c.blocks) +
                                " (every block needs at least one basis vector)");
  if (c.threads < 1) throw std::invalid_argument("--threads " + std::to_string(c.threads) + " is not allowed (need >= 1)");
}

std::vector<Block> equal_blocks(uint64_t d, uint32_t num_blocks) {
  std::vector<Block> blocks;
  uint64_t offset = 0;
  for (uint32_t l = 0; l < num_blocks; ++l) {
    const uint64_t size = d / num_blocks + (l < d % num_blocks ? 1 : 0);
    blocks.push_back({"block" + std::to_string(l), offset, size});
    offset += size;
  }
  return blocks;
}

namespace {

std::vector<uint32_t> uniform_k(const KernelCase& c, const std::vector<Block>& blocks) {
  return allocate_k(c.k, blocks, Allocation::uniform, {});
}

}  // namespace

double basis_elements(const KernelCase& c) {
  const auto blocks = equal_blocks(c.d, c.blocks);
  const auto k = uniform_k(c, blocks);
  double total = 0;
  for (size_t l = 0; l < blocks.size(); ++l) total += static_cast<double>(blocks[l].size) * k[l];
  return total;
}

double kernel_bytes(const KernelCase& c) { return (c.op == KernelOp::project ? 4.0 : 8.0) * static_cast<double>(c.d); }

double best_seconds(const std::function<void()>& f, double budget_s, int min_reps, int max_reps) {
  using Clock = std::chrono::steady_clock;
  double best = 1e300, total = 0;
  for (int rep = 0; rep < max_reps; ++rep) {
    const auto t0 = Clock::now();
    f();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s), total += s;
    if ((rep + 1 >= min_reps && total > budget_s) || total > 4 * budget_s) break;  // enough, or one slow call
  }
  return best;
}

double time_ours(const KernelCase& c) {
  check_case(c);
  omp_set_num_threads(c.threads);
  const auto blocks = equal_blocks(c.d, c.blocks);
  const auto k_per_block = uniform_k(c, blocks);
  std::vector<float> x(c.d), gamma(c.k);
  // First touch by the threads that will use the pages (NUMA-friendly on real nodes).
#pragma omp parallel for schedule(static)
  for (uint64_t j = 0; j < c.d; ++j) x[j] = static_cast<float>((j * 2654435761u) % 1000) * 1e-3f - 0.5f;
  for (uint32_t i = 0; i < c.k; ++i) gamma[i] = 1e-3f * static_cast<float>(i % 7) - 2e-3f;
  const ProjectionSpec spec{c.basis, 42, 1};
  if (c.op == KernelOp::project) return best_seconds([&] { project(spec, blocks, k_per_block, x, gamma); });
  return best_seconds([&] { reconstruct_add(spec, blocks, k_per_block, gamma, -1.0f, x); });
}

double stream_floor_seconds(uint64_t d, int threads) {
  std::vector<float> y(d);
  const auto n = static_cast<int64_t>(d);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t j = 0; j < n; ++j) y[j] = static_cast<float>(j & 1023);
  float* p = y.data();
  return best_seconds(
      [&] {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t j = 0; j < n; ++j) p[j] = p[j] * 0.999f + 1e-3f;
      },
      0.3, 5, 50);
}

double philox_floor_seconds(const KernelCase& c) {
  check_case(c);
  const double per_call = c.basis == Basis::rademacher ? 128.0 : 4.0;
  const auto calls = static_cast<int64_t>(basis_elements(c) / per_call);
  constexpr int64_t kChunk = 1024;  // calls per philox_words call, as in a 4096-coordinate tile
  const int64_t chunks = (calls + kChunk - 1) / kChunk;
  volatile uint32_t sink = 0;  // the words' xor lands here, so the generation cannot be skipped
  const double s = best_seconds([&] {
    uint32_t x = 0;
#pragma omp parallel num_threads(c.threads) reduction(^ : x)
    {
      alignas(64) uint32_t w0[kChunk], w1[kChunk], w2[kChunk], w3[kChunk];
#pragma omp for schedule(static)
      for (int64_t i = 0; i < chunks; ++i) {
        const auto n = static_cast<uint64_t>(std::min(kChunk, calls - i * kChunk));
        philox_words({1u, 2u}, static_cast<uint32_t>(i * kChunk), 3, 4, 5, n, w0, w1, w2, w3);
        x ^= w0[0] ^ w1[n - 1] ^ w2[n / 2] ^ w3[0];  // keeps the words alive
      }
    }
    sink = sink ^ x;
  });
  return s;
}

}  // namespace ferret::bench
