// Throughput of project and reconstruct_add (prints numbers; no assertions).
//
//   bench_projection [d = 10000000] [K = 1024] [basis = rademacher] [threads = OpenMP default]
//
// Times one block of d coordinates with K bases, then the same d cut like a LLaMA-style model
// (make_blocks on 7 matrices of d/8 and two norm vectors per layer, K split by size). Best of 3.
// "basis elem/s" counts generated basis entries (d·K per call); "delta GB/s" is Δ read by project
// (or out read+written by reconstruct_add, counted once) per second.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ferret/projection.hpp"

namespace {

template <class F>
double best_of_3(F&& f) {
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// elements = Σ_l d_l K_l basis entries generated per call.
void report(const char* what, const char* layout, uint64_t d, uint32_t K, ferret::Basis basis, double seconds,
            size_t blocks, double elements) {
  std::printf("%-15s %-9s basis=%-11s d=%-11llu K=%-5u L=%-4zu threads=%-3d %9.4f s  %9.3e basis elem/s  %7.3f delta GB/s\n",
              what, layout, std::string(ferret::to_string(basis)).c_str(), static_cast<unsigned long long>(d), K, blocks,
              omp_get_max_threads(), seconds, elements / seconds, 4.0 * static_cast<double>(d) / seconds / 1e9);
}

// A LLaMA-like tensor list whose total is about d: per layer 7 matrices and 2 norm vectors.
std::vector<ferret::ParamInfo> llama_like(uint64_t d) {
  const uint64_t layers = 8, norm = 2048;
  const uint64_t matrix = std::max<uint64_t>(1, (d / layers - 2 * norm) / 7);
  std::vector<ferret::ParamInfo> params;
  for (uint64_t l = 0; l < layers; ++l) {
    for (const char* m : {"q", "k", "v", "o", "gate", "up", "down"})
      params.push_back({"layers." + std::to_string(l) + "." + m, matrix});
    params.push_back({"layers." + std::to_string(l) + ".input_norm", norm});
    params.push_back({"layers." + std::to_string(l) + ".post_norm", norm});
  }
  return params;
}

void run(const char* layout, const std::vector<ferret::Block>& blocks, uint64_t d, uint32_t K, ferret::Basis basis) {
  const auto k_per_block = ferret::allocate_k(K, blocks, ferret::Allocation::size, {});
  std::vector<float> delta(d), gamma(K), out(d, 0.0f);
  for (uint64_t j = 0; j < d; ++j) delta[j] = static_cast<float>((j * 2654435761u) % 1000) * 1e-3f - 0.5f;
  const ferret::ProjectionSpec spec{basis, 42, 1};
  uint64_t used = 0;  // coordinates covered by the blocks (elements generated = Σ d_l K_l)
  double elements = 0;
  for (size_t l = 0; l < blocks.size(); ++l) used += blocks[l].size, elements += double(blocks[l].size) * k_per_block[l];
  const double t_project = best_of_3([&] { ferret::project(spec, blocks, k_per_block, delta, gamma); });
  const double t_reconstruct = best_of_3([&] { ferret::reconstruct_add(spec, blocks, k_per_block, gamma, -1.0f, out); });
  report("project", layout, used, K, basis, t_project, blocks.size(), elements);
  report("reconstruct_add", layout, used, K, basis, t_reconstruct, blocks.size(), elements);
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t d = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  const auto K = static_cast<uint32_t>(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024);
  const ferret::Basis basis = ferret::parse_basis(argc > 3 ? argv[3] : "rademacher");
  if (argc > 4) omp_set_num_threads(std::atoi(argv[4]));

  run("one-block", {ferret::Block{"all", 0, d}}, d, K, basis);
  const auto params = llama_like(d);
  const auto blocks = ferret::make_blocks(params);
  uint64_t total = 0;
  for (const auto& p : params) total += p.numel;
  if (K >= blocks.size()) run("llama-like", blocks, total, K, basis);
  return 0;
}
