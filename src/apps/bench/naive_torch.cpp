// defines: the implementation of naive_torch.hpp
#include "naive_torch.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

namespace ferret::bench {
namespace {

void fill(torch::Tensor& v, Basis basis, at::Generator& gen, uint64_t d_l) {
  switch (basis) {
    case Basis::rademacher:
      v.bernoulli_(0.5, gen).mul_(2.0).sub_(1.0);
      break;
    case Basis::gaussian:
      v.normal_(0.0, 1.0, gen);
      break;
    case Basis::truncnormal: {
      const double a = 1.0 / std::sqrt(static_cast<double>(d_l));
      const double cdf = 0.5 * (1.0 + std::erf(a / std::sqrt(2.0)));  // Φ(a); Φ(−a) = 1 − Φ(a)
      v.uniform_(2.0 * (1.0 - cdf) - 1.0, 2.0 * cdf - 1.0, gen).erfinv_().mul_(std::sqrt(2.0)).clamp_(-a, a);
      break;
    }
  }
}

}  // namespace

NaiveTiming time_naive_torch(const KernelCase& c, double budget_s) {
  using Clock = std::chrono::steady_clock;
  check_case(c);
  torch::NoGradGuard no_grad;
  torch::set_num_threads(c.threads);
  const auto blocks = equal_blocks(c.d, c.blocks);
  const auto k_per_block = allocate_k(c.k, blocks, Allocation::uniform, {});
  auto x = torch::rand({static_cast<int64_t>(c.d)}).sub_(0.5);
  std::vector<float> gamma(c.k, 1e-3f);
  NaiveTiming t;
  t.bases_total = c.k;
  const auto start = Clock::now();
  size_t slot = 0;
  for (size_t l = 0; l < blocks.size() && (budget_s <= 0 || t.bases_timed == 0 ||
                                           std::chrono::duration<double>(Clock::now() - start).count() < budget_s);
       ++l) {
    auto x_l = x.narrow(0, static_cast<int64_t>(blocks[l].offset), static_cast<int64_t>(blocks[l].size));
    const double scale = 1.0 / (k_per_block[l] * basis_variance(c.basis, blocks[l].size));
    for (uint32_t k = 0; k < k_per_block[l]; ++k, ++slot) {
      if (budget_s > 0 && t.bases_timed > 0 &&
          std::chrono::duration<double>(Clock::now() - start).count() >= budget_s)
        break;
      const uint64_t seed = splitmix64((uint64_t{1} << 40) ^ (uint64_t{l} << 20) ^ k);  // per (round, block, basis)
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
      auto v = torch::empty({static_cast<int64_t>(blocks[l].size)});
      fill(v, c.basis, gen, blocks[l].size);
      if (c.op == KernelOp::project) gamma[slot] = static_cast<float>(scale * torch::dot(x_l, v).item<float>());
      else x_l.add_(v, -gamma[slot]);
      ++t.bases_timed;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  t.seconds = elapsed * static_cast<double>(t.bases_total) / static_cast<double>(t.bases_timed);
  return t;
}

}  // namespace ferret::bench
