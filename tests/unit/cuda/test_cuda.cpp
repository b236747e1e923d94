// ferret_cuda against the CPU functions of random/basis.hpp / projection.hpp, and the NCCL communicator.
//
// Everywhere: device discovery (cuda_available gives a reason when it says no; the launcher's
// local-rank variables), argument checks before any device access, and the host emulation of the
// kernels (same work split, per-thread steps and reduction order) against the CPU: basis entries
// and reconstruction bitwise, projection within 1e-5. With a GPU (else skipped, naming the CUDA
// error): the kernels bitwise against the emulation and the CPU, device selection, NcclComm.
// Run under mpirun (mpi_gtest_main.cpp); every rank runs every test.
#include <cuda_runtime.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cuda/cuda_projection.hpp"
#include "random/counter_rng.hpp"
#include "projection/projection.hpp"
#include "random/basis.hpp"
#if FERRET_HAVE_NCCL
#include "comm/nccl_comm.hpp"
#endif

namespace ferret {
namespace {

constexpr Basis kAllBases[] = {Basis::rademacher, Basis::gaussian, Basis::truncnormal};

// Empty if a usable device is present, else cuda_available's reason.
std::string missing_device() {
  std::string why;
  return cuda_available(&why) ? std::string() : why;
}

#define REQUIRE_CUDA_DEVICE()                                                  \
  if (const std::string why_ = missing_device(); !why_.empty()) GTEST_SKIP() << "no CUDA device: " << why_

// ---- helpers ------------------------------------------------------------------------------------

std::vector<float> test_vector(uint64_t n, uint64_t salt) {
  std::vector<float> v(n);
  CounterRng rng(salt, 99, 0, 0);
  for (auto& x : v) x = static_cast<float>(rng.uniform() * 2.0 - 1.0) + (rng.uniform() < 0.1 ? 3.0f : 0.0f);
  return v;
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Bitwise comparison that reports the count and the first mismatch instead of one line per entry.
::testing::AssertionResult bitwise_equal(const std::vector<float>& expected, const std::vector<float>& actual) {
  if (expected.size() != actual.size())
    return ::testing::AssertionFailure() << "sizes " << expected.size() << " vs " << actual.size();
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    if (bits(expected[i]) != bits(actual[i]) && mismatches++ == 0) first = i;
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " of " << expected.size() << " differ; first at " << first
                                       << ": expected " << expected[first] << " got " << actual[first];
}

// A layout with odd sizes, unaligned offsets and gaps; block "e" spans several tiles of every
// basis, and its K_l = 300 spans two k-ranges of the projection kernel.
struct Layout {
  std::vector<Block> blocks;
  std::vector<uint32_t> k;
  uint64_t d;
  uint32_t total_k() const {
    uint32_t t = 0;
    for (uint32_t x : k) t += x;
    return t;
  }
};

Layout odd_layout() {
  return {{{"a", 3, 1}, {"b", 7, 127}, {"c", 134, 129}, {"d", 300, 5003}, {"e", 5310, 40000}},
          {1, 3, 2, 5, 300},
          45321};
}

// One block per basis with more than 1024 tiles, so that chunks hold several tiles.
Layout large_layout(Basis basis) {
  const uint64_t size = basis == Basis::rademacher ? 1024ull * 256 * 64 + 4099 : 1024ull * 256 * 8 + 4099;
  return {{{"big", 5, size}, {"tail", size + 9, 77}}, {2, 3}, size + 90};
}

std::vector<float> coefficients_with_zeros(uint32_t n, uint64_t salt) {
  std::vector<float> gamma = test_vector(n, salt);
  for (uint32_t i = 0; i < n; i += 3) gamma[i] = 0.0f;  // the kernels skip zeros, as the CPU does
  return gamma;
}

// |γ_gpu − γ_cpu| ≤ 1e-5 · c_l Σ_j |v_j Δ_j| per coefficient (the size of the dot product's terms
// bounds any summation-order difference), and ≤ 1e-5 relative in norm.
void expect_projection_close(const ProjectionSpec& spec, const Layout& lay, const std::vector<float>& delta,
                             const std::vector<float>& expected, const std::vector<float>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  double diff2 = 0, norm2 = 0;
  uint64_t at = 0;
  for (size_t l = 0; l < lay.blocks.size(); ++l) {
    const Block& b = lay.blocks[l];
    const double c = 1.0 / (lay.k[l] * basis_variance(spec.basis, b.size));
    std::vector<float> v(b.size);
    for (uint32_t k = 0; k < lay.k[l]; ++k, ++at) {
      fill_basis(spec.basis, spec.seed, spec.round, static_cast<uint32_t>(l), k, 0, b.size, v);
      double magnitude = 0;
      for (uint64_t j = 0; j < b.size; ++j) magnitude += std::abs(static_cast<double>(v[j]) * delta[b.offset + j]);
      EXPECT_LE(std::abs(static_cast<double>(actual[at]) - expected[at]), 1e-5 * c * magnitude + 1e-30)
          << "block " << l << " k " << k;
      diff2 += std::pow(static_cast<double>(actual[at]) - expected[at], 2);
      norm2 += std::pow(static_cast<double>(expected[at]), 2);
    }
  }
  EXPECT_LE(std::sqrt(diff2), 1e-5 * std::sqrt(norm2));
}

struct FillCase {
  uint32_t round, block, k;
  uint64_t block_size, j0, n;
};

std::vector<FillCase> fill_cases() {
  return {{0, 0, 0, 1, 0, 1},          {1, 2, 3, 3, 1, 2},         {7, 1, 0, 127, 5, 122},
          {2, 5, 9, 129, 63, 66},      {3, 0, 1, 1000, 64, 900},   {9, 4, 17, 4097, 127, 3970},
          {4, 3, 255, 70001, 130, 69871}, {1, 0, 1000, 5003, 0, 5003}, {6, 7, 2, 300000, 131071, 1}};
}

// Scoped value of an environment variable (unset when value is null); restored on scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::string(old);
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1); else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Device memory holding a copy of a host vector.
class DeviceVector {
 public:
  explicit DeviceVector(const std::vector<float>& host) : n_(host.size()) {
    check(cudaMalloc(reinterpret_cast<void**>(&data_), std::max<size_t>(n_, 1) * sizeof(float)), "cudaMalloc");
    check(cudaMemcpy(data_, host.data(), n_ * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  explicit DeviceVector(size_t n) : DeviceVector(std::vector<float>(n, 0.0f)) {}
  ~DeviceVector() { cudaFree(data_); }
  DeviceVector(const DeviceVector&) = delete;
  DeviceVector& operator=(const DeviceVector&) = delete;
  float* get() const { return data_; }
  std::vector<float> download() const {
    std::vector<float> host(n_);
    check(cudaMemcpy(host.data(), data_, n_ * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
    return host;
  }

 private:
  static void check(cudaError_t err, const char* call) {
    if (err != cudaSuccess) throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(err));
  }
  float* data_ = nullptr;
  size_t n_;
};

// ---- everywhere: device discovery and argument checks -------------------------------------------

TEST(CudaDevice, AvailabilityComesWithAReason) {
  std::string why;
  const bool available = cuda_available(&why);
  if (available) {
    EXPECT_TRUE(why.empty()) << why;
  } else {
    EXPECT_FALSE(why.empty());
    std::printf("cuda_available: false: %s\n", why.c_str());
  }
  EXPECT_EQ(cuda_available(nullptr), available);  // no crash without a reason buffer
}

TEST(CudaDevice, LocalRankFollowsTheLauncherVariablesInOrder) {
  ScopedEnv slurm("SLURM_LOCALID", nullptr), ompi("OMPI_COMM_WORLD_LOCAL_RANK", nullptr), mpi("MPI_LOCAL_RANK", nullptr);
  EXPECT_EQ(cuda_local_rank(), 0);
  {
    ScopedEnv a("MPI_LOCAL_RANK", "5");
    EXPECT_EQ(cuda_local_rank(), 5);
    ScopedEnv b("OMPI_COMM_WORLD_LOCAL_RANK", "2");
    EXPECT_EQ(cuda_local_rank(), 2);
    ScopedEnv c("SLURM_LOCALID", "3");
    EXPECT_EQ(cuda_local_rank(), 3);
  }
  for (const char* bad : {"", "-1", "x", "2x", "99999999999"}) {
    ScopedEnv c("SLURM_LOCALID", bad);
    EXPECT_THROW(cuda_local_rank(), std::runtime_error) << "'" << bad << "'";
  }
}

TEST(CudaArguments, RejectedBeforeTheDeviceIsTouched) {
  const Layout lay = odd_layout();
  const ProjectionSpec spec{Basis::gaussian, 1, 0};
  std::vector<float> gamma(lay.total_k());
  const std::vector<uint32_t> short_k(lay.k.begin(), lay.k.end() - 1);
  EXPECT_THROW(cuda_project(spec, lay.blocks, short_k, nullptr, lay.d, gamma), std::invalid_argument);
  const uint64_t blocks_end = lay.blocks.back().offset + lay.blocks.back().size;  // delta shorter than that
  EXPECT_THROW(cuda_project(spec, lay.blocks, lay.k, nullptr, blocks_end - 1, gamma), std::invalid_argument);
  std::vector<float> wrong_gamma(lay.total_k() + 1);
  EXPECT_THROW(cuda_reconstruct_add(spec, lay.blocks, lay.k, wrong_gamma, 1.0f, nullptr, lay.d), std::invalid_argument);
  EXPECT_THROW(cuda_fill_basis(Basis::rademacher, 1, 0, 0, 0, 10, 100, nullptr, 91), std::invalid_argument);
  EXPECT_THROW(cuda_fill_basis(Basis::rademacher, 1, 0, 0, 0, 0, 0, nullptr, 0), std::invalid_argument);
}

// ---- everywhere: the kernels' algorithm, emulated on the host, against the CPU ------------------

TEST(CudaEmulation, FillBasisIsBitEqualToCpu) {
  for (Basis basis : kAllBases)
    for (const FillCase& c : fill_cases()) {
      std::vector<float> cpu(c.n), emulated(c.n);
      fill_basis(basis, 42, c.round, c.block, c.k, c.j0, c.block_size, cpu);
      cuda_fill_basis_emulated(basis, 42, c.round, c.block, c.k, c.j0, c.block_size, emulated);
      EXPECT_TRUE(bitwise_equal(cpu, emulated)) << to_string(basis) << " block_size " << c.block_size << " j0 " << c.j0;
    }
}

TEST(CudaEmulation, ReconstructIsBitEqualToCpu) {
  const Layout lay = odd_layout();
  for (Basis basis : kAllBases) {
    const ProjectionSpec spec{basis, 7, 3};
    const auto gamma = coefficients_with_zeros(lay.total_k(), 11);
    std::vector<float> cpu = test_vector(lay.d, 12), emulated = cpu;
    reconstruct_add(spec, lay.blocks, lay.k, gamma, -0.37f, cpu);
    cuda_reconstruct_add_emulated(spec, lay.blocks, lay.k, gamma, -0.37f, emulated);
    EXPECT_TRUE(bitwise_equal(cpu, emulated)) << to_string(basis);
  }
}

TEST(CudaEmulation, ProjectMatchesCpu) {
  const Layout lay = odd_layout();
  for (Basis basis : kAllBases) {
    SCOPED_TRACE(std::string(to_string(basis)));
    const ProjectionSpec spec{basis, 7, 3};
    const auto delta = test_vector(lay.d, 13);
    std::vector<float> cpu(lay.total_k()), emulated(lay.total_k());
    project(spec, lay.blocks, lay.k, delta, cpu);
    cuda_project_emulated(spec, lay.blocks, lay.k, delta, emulated);
    expect_projection_close(spec, lay, delta, cpu, emulated);
  }
}

TEST(CudaEmulation, BlocksOfMoreThan1024TilesMatchCpu) {
  for (Basis basis : kAllBases) {
    SCOPED_TRACE(std::string(to_string(basis)));
    const Layout lay = large_layout(basis);
    const ProjectionSpec spec{basis, 5, 2};
    const auto delta = test_vector(lay.d, 14);
    std::vector<float> cpu(lay.total_k()), emulated(lay.total_k());
    project(spec, lay.blocks, lay.k, delta, cpu);
    cuda_project_emulated(spec, lay.blocks, lay.k, delta, emulated);
    expect_projection_close(spec, lay, delta, cpu, emulated);
    std::vector<float> out_cpu = delta, out_emulated = delta;
    reconstruct_add(spec, lay.blocks, lay.k, cpu, 0.5f, out_cpu);
    cuda_reconstruct_add_emulated(spec, lay.blocks, lay.k, cpu, 0.5f, out_emulated);
    EXPECT_TRUE(bitwise_equal(out_cpu, out_emulated));
  }
}

// ---- with a GPU: the kernels ----------------------------------------------------------------------

TEST(CudaKernels, FillBasisIsBitEqualToCpu) {
  REQUIRE_CUDA_DEVICE();
  select_cuda_device();
  for (Basis basis : kAllBases)
    for (const FillCase& c : fill_cases()) {
      std::vector<float> cpu(c.n);
      fill_basis(basis, 42, c.round, c.block, c.k, c.j0, c.block_size, cpu);
      DeviceVector device(c.n);
      cuda_fill_basis(basis, 42, c.round, c.block, c.k, c.j0, c.block_size, device.get(), c.n);
      EXPECT_TRUE(bitwise_equal(cpu, device.download())) << to_string(basis) << " block_size " << c.block_size
                                                          << " j0 " << c.j0;
    }
}

TEST(CudaKernels, ReconstructIsBitEqualToCpu) {
  REQUIRE_CUDA_DEVICE();
  select_cuda_device();
  const Layout lay = odd_layout();
  for (Basis basis : kAllBases) {
    const ProjectionSpec spec{basis, 7, 3};
    const auto gamma = coefficients_with_zeros(lay.total_k(), 11);
    std::vector<float> cpu = test_vector(lay.d, 12);
    DeviceVector out(cpu);
    reconstruct_add(spec, lay.blocks, lay.k, gamma, -0.37f, cpu);
    cuda_reconstruct_add(spec, lay.blocks, lay.k, gamma, -0.37f, out.get(), lay.d);
    EXPECT_TRUE(bitwise_equal(cpu, out.download())) << to_string(basis);
  }
}

TEST(CudaKernels, ProjectIsBitEqualToEmulationAndCloseToCpu) {
  REQUIRE_CUDA_DEVICE();
  select_cuda_device();
  const Layout lay = odd_layout();
  for (Basis basis : kAllBases) {
    SCOPED_TRACE(std::string(to_string(basis)));
    const ProjectionSpec spec{basis, 7, 3};
    const auto delta = test_vector(lay.d, 13);
    DeviceVector delta_device(delta);
    std::vector<float> cpu(lay.total_k()), emulated(lay.total_k()), gpu(lay.total_k());
    project(spec, lay.blocks, lay.k, delta, cpu);
    cuda_project_emulated(spec, lay.blocks, lay.k, delta, emulated);
    cuda_project(spec, lay.blocks, lay.k, delta_device.get(), lay.d, gpu);
    EXPECT_TRUE(bitwise_equal(emulated, gpu));
    expect_projection_close(spec, lay, delta, cpu, gpu);
  }
}

TEST(CudaKernels, LargeBlocksOnANonDefaultStream) {
  REQUIRE_CUDA_DEVICE();
  select_cuda_device();
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  for (Basis basis : kAllBases) {
    SCOPED_TRACE(std::string(to_string(basis)));
    const Layout lay = large_layout(basis);
    const ProjectionSpec spec{basis, 5, 2};
    const auto delta = test_vector(lay.d, 14);
    DeviceVector delta_device(delta), out(delta);
    std::vector<float> emulated(lay.total_k()), gpu(lay.total_k());
    cuda_project_emulated(spec, lay.blocks, lay.k, delta, emulated);
    cuda_project(spec, lay.blocks, lay.k, delta_device.get(), lay.d, gpu, stream);
    EXPECT_TRUE(bitwise_equal(emulated, gpu));
    std::vector<float> out_cpu = delta;
    reconstruct_add(spec, lay.blocks, lay.k, gpu, 0.5f, out_cpu);
    cuda_reconstruct_add(spec, lay.blocks, lay.k, gpu, 0.5f, out.get(), lay.d, stream);
    EXPECT_TRUE(bitwise_equal(out_cpu, out.download()));
  }
  cudaStreamDestroy(stream);
}

// What --device cuda runs use (param_kernels.hpp): the same results as the host kernels, bitwise
// for everything but the projection's dot products and the norms' summation order.
TEST(CudaParamKernels, MatchTheHostKernels) {
  REQUIRE_CUDA_DEVICE();
  select_cuda_device();
  const auto gpu = make_cuda_param_kernels();
  const ParamKernels& host = host_param_kernels();
  EXPECT_TRUE(gpu->device_memory());
  const Layout lay = odd_layout();
  const ProjectionSpec spec{Basis::rademacher, 7, 3};
  const auto delta = test_vector(lay.d, 21);
  DeviceVector delta_device(delta);
  const std::span<const float> on_device(delta_device.get(), lay.d);

  const auto norms_cpu = host.block_sq_norms(lay.blocks, delta), norms_gpu = gpu->block_sq_norms(lay.blocks, on_device);
  ASSERT_EQ(norms_cpu.size(), norms_gpu.size());
  for (size_t l = 0; l < norms_cpu.size(); ++l) EXPECT_NEAR(norms_gpu[l], norms_cpu[l], 1e-12 * norms_cpu[l]) << l;
  EXPECT_EQ(gpu->block_sq_norms(lay.blocks, on_device), norms_gpu);  // deterministic

  std::vector<float> back(lay.d);
  gpu->copy_to_host(on_device, back);
  EXPECT_TRUE(bitwise_equal(delta, back));

  const auto x = test_vector(lay.d, 22);
  for (float alpha : {-1.0f, 0.3f}) {
    std::vector<float> y = delta;
    DeviceVector y_device(delta);
    host.add_from_host(alpha, x, y);
    gpu->add_from_host(alpha, x, std::span<float>(y_device.get(), lay.d));
    EXPECT_TRUE(bitwise_equal(y, y_device.download())) << "alpha " << alpha;
  }

  std::vector<float> gamma_cpu(lay.total_k()), gamma_gpu(lay.total_k());
  host.project(spec, lay.blocks, lay.k, delta, gamma_cpu);
  gpu->project(spec, lay.blocks, lay.k, on_device, gamma_gpu);
  expect_projection_close(spec, lay, delta, gamma_cpu, gamma_gpu);
  std::vector<float> out = delta;
  DeviceVector out_device(delta);
  host.reconstruct_add(spec, lay.blocks, lay.k, gamma_cpu, -1.0f, out);
  gpu->reconstruct_add(spec, lay.blocks, lay.k, gamma_cpu, -1.0f, std::span<float>(out_device.get(), lay.d));
  EXPECT_TRUE(bitwise_equal(out, out_device.download()));
}

TEST(CudaDevice, SelectHonoursSlurmLocalId) {
  REQUIRE_CUDA_DEVICE();
  int count = 0, before = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  ASSERT_EQ(cudaGetDevice(&before), cudaSuccess);
  for (int local : {0, 1, 3, 8}) {
    const std::string value = std::to_string(local);
    ScopedEnv slurm("SLURM_LOCALID", value.c_str());
    EXPECT_EQ(select_cuda_device(), local % count);
    int current = -1;
    ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
    EXPECT_EQ(current, local % count);
  }
  cudaSetDevice(before);
}

// ---- with a GPU per rank: NcclComm --------------------------------------------------------------

#if FERRET_HAVE_NCCL
TEST(NcclComm, ReduceAndBroadcast) {
  REQUIRE_CUDA_DEVICE();
  int size = 1, rank = 0, devices = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < size) GTEST_SKIP() << "NCCL needs one GPU per rank: " << size << " ranks, " << devices << " GPUs";
  select_cuda_device();
  NcclComm comm;
  EXPECT_EQ(comm.rank(), rank);
  EXPECT_EQ(comm.size(), size);
  const size_t n = 1000003;  // not a multiple of anything NCCL might chunk by
  std::vector<float> mine(n);
  for (size_t i = 0; i < n; ++i) mine[i] = static_cast<float>((rank + 1) * (i % 7));  // sums are exact
  const float ranks_sum = static_cast<float>(size * (size + 1) / 2);

  DeviceVector reduced(mine);
  comm.reduce_sum_to_root(std::span(reduced.get(), n), std::vector<bool>(size, true));
  const auto after_reduce = reduced.download();
  for (size_t i = 0; i < n; ++i) {
    const float expected = rank == 0 ? ranks_sum * static_cast<float>(i % 7) : mine[i];
    if (after_reduce[i] != expected) FAIL() << "reduce: entry " << i << " = " << after_reduce[i] << ", expected " << expected;
  }
  // Members only: the last rank sends, rank 0 (not a member) receives; the others take no part.
  std::vector<bool> last_only(size, false);
  last_only[size - 1] = true;
  DeviceVector partial(mine);
  comm.reduce_sum_to_root(std::span(partial.get(), n), last_only);
  const auto after_partial = partial.download();
  const float last_factor = size == 1 ? 1.0f : static_cast<float>(size + 1);  // rank 0's own + rank size−1's
  for (size_t i = 0; i < n; ++i) {
    const float expected = rank == 0 ? last_factor * static_cast<float>(i % 7) : mine[i];
    if (after_partial[i] != expected) FAIL() << "member reduce: entry " << i << " = " << after_partial[i];
  }

  std::vector<float> root_values(n);
  for (size_t i = 0; i < n; ++i) root_values[i] = rank == 0 ? static_cast<float>(i % 13) : -1.0f;
  DeviceVector broadcast(root_values);
  comm.broadcast_from_root(std::span(broadcast.get(), n));
  const auto after_broadcast = broadcast.download();
  for (size_t i = 0; i < n; ++i)
    if (after_broadcast[i] != static_cast<float>(i % 13)) FAIL() << "broadcast: entry " << i << " = " << after_broadcast[i];

  const uint64_t bytes = n * sizeof(float);
  const uint64_t member_reduces = 1 + (rank == size - 1 ? 1 : 0);
  EXPECT_EQ(comm.traffic().up, member_reduces * bytes);
  EXPECT_EQ(comm.traffic().down, rank == 0 ? 0 : bytes);
}
#endif

}  // namespace
}  // namespace ferret
