// defines: CudaStream, cuda_available, cuda_local_rank, select_cuda_device, cuda_device_pci_id,
//          cuda_device_name, cuda_project,
//          cuda_reconstruct_add, cuda_fill_basis, make_cuda_param_kernels, and host emulations (*_emulated)
//
// The GPU version of projection.hpp: the same γ_l = c_l V_lᵀ Δ_l and out += alpha · V_l γ_l, with
// the basis regenerated on the device from random/basis.hpp's mapping (src/cuda/basis.cuh), never stored.
// Plain C++: no CUDA or LibTorch header is needed to call these (the library is ferret_cuda, built
// when nvcc is found; its users get FERRET_HAVE_CUDA=1).
//
// ---- Which pointers live where ------------------------------------------------------------------
// The d-length vectors (Δ, out, a basis vector) are DEVICE pointers of the current CUDA device:
// they are the model's parameters / update, which stay on the GPU (a torch tensor's data_ptr()
// works). gamma is a HOST span: it is K floats (K ≈ 10^3–10^4, nothing next to d). Between ranks it
// travels on the round's data plane: from the host over MPI (comm/mpi_comm.hpp) as on the CPU
// path, or, with --data-comm nccl, copied to the GPU and sent over NCCL (comm/nccl_comm.hpp; the
// algorithm does the copies, algorithms/ferret.cpp).
// Each call runs on `stream` (nullptr: the legacy default stream, which is ordered after the work
// of every other blocking stream, e.g. LibTorch's default one) and returns when its result is
// complete (it synchronizes `stream`), so the caller may read gamma / out or free inputs at once.
//
// ---- Equality with the CPU functions ------------------------------------------------------------
//   cuda_fill_basis       bitwise equal to fill_basis, for every basis (same operation sequence).
//   cuda_reconstruct_add  bitwise equal to reconstruct_add: per coordinate both compute
//                         acc = fma(γ_k, v_k, acc) for k = 0, 1, … (γ_k = 0 skipped), then
//                         out = fma(alpha, acc, out).
//   cuda_project          equal to project up to summation order: the GPU sums a dot product in a
//                         different (fixed, deterministic) tree, so γ agrees to ≈ 1e-7 relative
//                         to Σ_j |v_j Δ_j|; identical bits on every GPU and every run.
// The *_emulated functions run the kernels' exact algorithm (work split, reduction order) on the
// host, single-threaded: bitwise equal to the GPU results, and testable without a GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "projection/param_kernels.hpp"
#include "projection/projection.hpp"

struct CUstream_st;  // CUDA's stream type: cudaStream_t is CUstream_st*

namespace ferret {

using CudaStream = CUstream_st*;

// True if a CUDA device that can run ferret's kernels (built for CMAKE_CUDA_ARCHITECTURES, 90 by
// default, and newer through PTX) is visible. Otherwise false, with the reason in *why (when not
// null): the CUDA error of cudaGetDeviceCount, no device, or a device too old. Creates no context.
bool cuda_available(std::string* why = nullptr);

// The rank's index among the ranks of its node, from the launcher's environment: SLURM_LOCALID,
// else OMPI_COMM_WORLD_LOCAL_RANK, else MPI_LOCAL_RANK, else 0. Throws std::runtime_error naming
// the variable when its value is not a non-negative integer.
int cuda_local_rank();

// Makes device cuda_local_rank() % (visible devices) current for this thread and returns it, so
// that the ranks of a node spread over its GPUs (with one rank per GPU, each gets its own).
// Throws std::runtime_error with cuda_available's reason when there is no usable device.
int select_cuda_device();

// Device `device`'s PCI address ("0000:3b:00.0": unique on its host, whatever CUDA_VISIBLE_DEVICES
// renumbers) and its name ("NVIDIA H200"). Throw std::runtime_error on a CUDA error.
std::string cuda_device_pci_id(int device);
std::string cuda_device_name(int device);

// γ = concat_l c_l V_lᵀ Δ_l, as project. delta_device holds delta_size floats on the device;
// gamma is host memory of Σ K_l floats. Same requirements and exceptions as project (checked before
// the device is touched); CUDA errors throw std::runtime_error naming the call and the error.
void cuda_project(const ProjectionSpec& spec, std::span<const Block> blocks, std::span<const uint32_t> k_per_block,
                  const float* delta_device, uint64_t delta_size, std::span<float> gamma,
                  CudaStream stream = nullptr);

// out[block l] += alpha · V_l γ_l for every block, as reconstruct_add; out_device holds out_size
// floats on the device, gamma is host memory. Other coordinates are untouched.
void cuda_reconstruct_add(const ProjectionSpec& spec, std::span<const Block> blocks,
                          std::span<const uint32_t> k_per_block, std::span<const float> gamma, float alpha,
                          float* out_device, uint64_t out_size, CudaStream stream = nullptr);

// out_device[i] = v[round, block, k, j0 + i] for i < n, as fill_basis (same checks), for tests.
void cuda_fill_basis(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint32_t k, uint64_t j0,
                     uint64_t block_size, float* out_device, uint64_t n, CudaStream stream = nullptr);

// param_kernels.hpp's operations on the current device's memory (what `--device cuda` runs use):
// cuda_project / cuda_reconstruct_add, per-block squared norms (fixed reduction tree: the same bits
// every run), and FedAvg's host<->device copies, all on the legacy default stream.
std::unique_ptr<ParamKernels> make_cuda_param_kernels();

// ---- host emulation of the kernels (tests; single-threaded, slow) -------------------------------
void cuda_project_emulated(const ProjectionSpec& spec, std::span<const Block> blocks,
                           std::span<const uint32_t> k_per_block, std::span<const float> delta,
                           std::span<float> gamma);
void cuda_reconstruct_add_emulated(const ProjectionSpec& spec, std::span<const Block> blocks,
                                   std::span<const uint32_t> k_per_block, std::span<const float> gamma, float alpha,
                                   std::span<float> out);
void cuda_fill_basis_emulated(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint32_t k, uint64_t j0,
                              uint64_t block_size, std::span<float> out);

}  // namespace ferret
