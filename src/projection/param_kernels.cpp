// defines: the implementation of param_kernels.hpp
#include "projection/param_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ferret {

void check_same_size(const char* what, size_t a, size_t b) {
  if (a != b)
    throw std::invalid_argument(std::string(what) + ": sizes differ (" + std::to_string(a) + " and " +
                                std::to_string(b) + ")");
}

namespace {

class HostParamKernels final : public ParamKernels {
 public:
  bool device_memory() const override { return false; }
  void project(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
               std::span<const float> delta, std::span<float> gamma) const override {
    ferret::project(spec, blocks, k_per_block, delta, gamma);
  }
  void reconstruct_add(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                       std::span<const float> gamma, float alpha, std::span<float> out) const override {
    ferret::reconstruct_add(spec, blocks, k_per_block, gamma, alpha, out);
  }
  std::vector<double> block_sq_norms(std::span<const Block> blocks, std::span<const float> x) const override {
    return ferret::block_sq_norms(blocks, x);
  }
  void copy_to_host(std::span<const float> x, std::span<float> host) const override {
    check_same_size("copy_to_host", x.size(), host.size());
    std::copy(x.begin(), x.end(), host.begin());
  }
  void copy_from_host(std::span<const float> host, std::span<float> x) const override { copy(host, x); }
  void copy(std::span<const float> x, std::span<float> y) const override {
    check_same_size("copy", x.size(), y.size());
    std::copy(x.begin(), x.end(), y.begin());
  }
  void add_from_host(float alpha, std::span<const float> host, std::span<float> y) const override {
    add(alpha, host, y);
  }
  void add(float alpha, std::span<const float> x, std::span<float> y) const override {
    check_same_size("add", x.size(), y.size());
    const size_t n = y.size();
#pragma omp parallel for schedule(static) if (n >= (size_t{1} << 20))
    for (size_t i = 0; i < n; ++i) y[i] = std::fma(alpha, x[i], y[i]);
  }
};

}  // namespace

const ParamKernels& host_param_kernels() {
  static const HostParamKernels kernels;
  return kernels;
}

}  // namespace ferret
