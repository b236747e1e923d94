// defines: ParamKernels, host_param_kernels — an algorithm's operations on parameter-space vectors
//
// Parameter-space vectors (the model's flat parameters, a rank's summed update Δ: d floats each)
// live where the model lives: host memory (--device cpu) or the current CUDA device (--device
// cuda, cuda_projection.hpp: make_cuda_param_kernels). Payloads (Ferret's K coefficients, FedAvg's
// d-vector, the server's step) are host memory when they travel over MPI (the default), and in
// this space when they travel over NCCL (--data-comm nccl, data_comm.hpp). Algorithms touch
// parameter-space vectors only through these operations, so the same algorithm code runs on
// either; a span argument named "in this space" may hold device pointers and is never dereferenced
// by the caller.
//
// Both implementations agree bitwise on everything but project, whose dot products the GPU sums
// in a different fixed order (cuda_projection.hpp); each is deterministic run to run.
#pragma once

#include <span>
#include <vector>

#include "projection/projection.hpp"

namespace ferret {

class ParamKernels {
 public:
  virtual ~ParamKernels() = default;
  // True when vectors of this space are CUDA device memory.
  virtual bool device_memory() const = 0;

  // projection.hpp's project with delta in this space (gamma on the host).
  virtual void project(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                       std::span<const float> delta, std::span<float> gamma) const = 0;
  // projection.hpp's reconstruct_add with out in this space (gamma on the host).
  virtual void reconstruct_add(const ProjectionSpec& spec, std::span<const Block> blocks,
                               std::span<const uint32_t> k_per_block, std::span<const float> gamma, float alpha,
                               std::span<float> out) const = 0;
  // Σ_{j in block l} x_j² in double for every block, x in this space (deterministic).
  virtual std::vector<double> block_sq_norms(std::span<const Block> blocks, std::span<const float> x) const = 0;
  // host[i] = x[i], x in this space.
  virtual void copy_to_host(std::span<const float> x, std::span<float> host) const = 0;
  // x[i] = host[i], x in this space.
  virtual void copy_from_host(std::span<const float> host, std::span<float> x) const = 0;
  // y[i] = x[i], both in this space.
  virtual void copy(std::span<const float> x, std::span<float> y) const = 0;
  // y[i] = fma(alpha, host[i], y[i]), y in this space (one rounding per element, as on the GPU).
  virtual void add_from_host(float alpha, std::span<const float> host, std::span<float> y) const = 0;
  // y[i] = fma(alpha, x[i], y[i]), both in this space.
  virtual void add(float alpha, std::span<const float> x, std::span<float> y) const = 0;
};

// The host implementation (projection.hpp's multithreaded kernels). Stateless, lives forever.
const ParamKernels& host_param_kernels();

// For implementations: std::invalid_argument naming `what` when the two vectors an operation
// pairs differ in size.
void check_same_size(const char* what, size_t a, size_t b);

}  // namespace ferret
