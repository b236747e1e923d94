// make_algorithm and the memory placement of the algorithms (algorithm.hpp, param_kernels.hpp):
// payloads that live with the parameters (--data-comm nccl) give the same bits as host payloads,
// and placements that cannot work are refused with a message. Host kernels stand in for the GPU
// ones here (test_cuda.cpp checks that those equal the host kernels).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/fedavg.hpp"
#include "algorithms/ferret.hpp"
#include "projection/param_kernels.hpp"

namespace {

using namespace ferret;

const std::vector<ParamInfo> kParams{{"embed", 3000}, {"layer.w", 1200}, {"layer.b", 37}, {"head", 2500}};

std::vector<float> wave(size_t n, float phase) {
  std::vector<float> v(n);
  for (size_t j = 0; j < n; ++j) v[j] = 0.01f * std::sin(phase + 0.013f * static_cast<float>(j));
  return v;
}

size_t total_size() {
  size_t d = 0;
  for (const auto& p : kParams) d += p.numel;
  return d;
}

// The host kernels, claiming device memory: what make_algorithm sees on a --device cuda run.
class PretendDeviceKernels final : public ParamKernels {
 public:
  bool device_memory() const override { return true; }
  void project(const ProjectionSpec& s, std::span<const Block> b, std::span<const uint32_t> k, std::span<const float> x,
               std::span<float> g) const override {
    host().project(s, b, k, x, g);
  }
  void reconstruct_add(const ProjectionSpec& s, std::span<const Block> b, std::span<const uint32_t> k,
                       std::span<const float> g, float a, std::span<float> y) const override {
    host().reconstruct_add(s, b, k, g, a, y);
  }
  std::vector<double> block_sq_norms(std::span<const Block> b, std::span<const float> x) const override {
    return host().block_sq_norms(b, x);
  }
  void copy_to_host(std::span<const float> x, std::span<float> h) const override { host().copy_to_host(x, h); }
  void copy_from_host(std::span<const float> h, std::span<float> x) const override { host().copy_from_host(h, x); }
  void copy(std::span<const float> x, std::span<float> y) const override { host().copy(x, y); }
  void add_from_host(float a, std::span<const float> h, std::span<float> y) const override { host().add_from_host(a, h, y); }
  void add(float a, std::span<const float> x, std::span<float> y) const override { host().add(a, x, y); }

 private:
  static const ParamKernels& host() { return host_param_kernels(); }
};

Config config_for(const std::string& algorithm) {
  Config c;
  c.algorithm = parse_choice<AlgorithmKind>("algorithm", algorithm);
  c.k = 64;
  c.allocation = Allocation::norm;
  return c;
}

// One round of an algorithm: observe, encode, apply the payload as the step. Returns the payload
// and the parameters after the step.
std::pair<std::vector<float>, std::vector<float>> one_round(Algorithm& algo) {
  const size_t d = total_size();
  const auto delta = wave(d, 0.3f);
  algo.begin_round(2);
  algo.observe_client_delta(delta);
  std::vector<float> payload(algo.payload_size());
  algo.encode(delta, payload);
  std::vector<float> params = wave(d, 1.1f);
  algo.apply(payload, params);
  return {payload, params};
}

TEST(Algorithm, PayloadsWithTheParametersGiveTheSameBits) {
  const auto& host = host_param_kernels();
  for (const std::string name : {"ferret", "fedavg"}) {
    SCOPED_TRACE(name);
    const Config c = config_for(name);
    std::unique_ptr<Algorithm> on_host, with_params;
    if (name == "ferret") {
      on_host = std::make_unique<FerretAlgorithm>(c, kParams, host, false);
      with_params = std::make_unique<FerretAlgorithm>(c, kParams, host, true);
    } else {
      on_host = std::make_unique<FedAvgAlgorithm>(kParams, host, false);
      with_params = std::make_unique<FedAvgAlgorithm>(kParams, host, true);
    }
    if (name == "ferret") {  // norm allocation without agree(): impose the same K_l on both
      const size_t blocks = on_host->blocks().size();
      std::vector<int32_t> k(blocks, static_cast<int32_t>(c.k / static_cast<int64_t>(blocks)));
      k[0] += static_cast<int32_t>(c.k) - static_cast<int32_t>(k[0] * blocks);
      static_cast<FerretAlgorithm&>(*on_host).set_allocation(k);
      static_cast<FerretAlgorithm&>(*with_params).set_allocation(k);
    }
    const auto [payload_a, params_a] = one_round(*on_host);
    const auto [payload_b, params_b] = one_round(*with_params);
    EXPECT_EQ(payload_a, payload_b);
    EXPECT_EQ(params_a, params_b);
    EXPECT_NE(params_a, wave(total_size(), 1.1f));  // the step did something
  }
}

TEST(Algorithm, PlacementsThatCannotWorkAreRefused) {
  const PretendDeviceKernels device;
  Config c = config_for("fedkseed");
  try {
    make_algorithm(c, kParams, device);
    FAIL() << "fedkseed on device memory was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--algorithm fedkseed runs on --device cpu only"), std::string::npos) << e.what();
  }
  c = config_for("fedavg");
  c.data_comm = DataPlane::nccl;
  EXPECT_THROW(make_algorithm(c, kParams), ConfigError);  // host parameters cannot hold NCCL payloads
  EXPECT_NO_THROW(make_algorithm(c, kParams, device));
  c.algorithm = AlgorithmKind::ferret;
  EXPECT_NO_THROW(make_algorithm(c, kParams, device));
}

}  // namespace
