// NcclComm: NCCL collectives on device buffers, the communicator bootstrapped over MPI
// (semantics in nccl_comm.hpp).
#include "ferret/nccl_comm.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <stdexcept>
#include <string>

#include "cuda_check.hpp"

namespace ferret {
namespace {

void nccl_check(ncclResult_t result, const char* call, ncclComm_t comm = nullptr) {
  if (result == ncclSuccess) return;
  std::string text = std::string("NCCL: ") + call + " failed: " + ncclGetErrorString(result);
  const char* detail = ncclGetLastError(comm);  // NCCL's last message (comm may be null)
  if (detail && *detail) text += std::string(": ") + detail;
  throw std::runtime_error(text);
}

void mpi_check(int err, const char* call) {
  if (err == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(err, text, &len);
  throw std::runtime_error(std::string("MPI: ") + call + " failed: " + std::string(text, len));
}

uint64_t bytes_of(size_t n) { return n * sizeof(float); }

}  // namespace

NcclComm::NcclComm(MPI_Comm comm, CUstream_st* stream) : stream_(stream) {
  mpi_check(MPI_Comm_rank(comm, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm, &size_), "MPI_Comm_size");
  FERRET_CUDA_CHECK(cudaGetDevice(&device_));
  ncclUniqueId id{};
  if (rank_ == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  // Every rank reaches this Bcast, so a failure on rank 0 above leaves the others waiting here
  // until the job's error handling (MPI_Abort by the caller) ends them: the same as Comm's calls.
  mpi_check(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm), "MPI_Bcast(ncclUniqueId)");
  nccl_check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
}

NcclComm::~NcclComm() {
  if (comm_) ncclCommDestroy(comm_);  // no throw from a destructor
}

void NcclComm::finish(const char* call) {
  FERRET_CUDA_CHECK(cudaStreamSynchronize(stream_));
  ncclResult_t async = ncclSuccess;
  nccl_check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError", comm_);
  nccl_check(async, call, comm_);
}

void NcclComm::reduce_sum_to_root(float* device_buf, size_t n) {
  float* result = rank_ == 0 ? device_buf : nullptr;  // NCCL writes no receive buffer off the root
  nccl_check(ncclReduce(device_buf, result, n, ncclFloat32, ncclSum, 0, comm_, stream_), "ncclReduce", comm_);
  finish("ncclReduce");
  traffic_.up += bytes_of(n);
}

void NcclComm::broadcast_from_root(float* device_buf, size_t n) {
  nccl_check(ncclBroadcast(device_buf, device_buf, n, ncclFloat32, 0, comm_, stream_), "ncclBroadcast", comm_);
  finish("ncclBroadcast");
  if (rank_ != 0) traffic_.down += bytes_of(n);
}

void NcclComm::allreduce_sum(float* device_buf, size_t n) {
  nccl_check(ncclAllReduce(device_buf, device_buf, n, ncclFloat32, ncclSum, comm_, stream_), "ncclAllReduce", comm_);
  finish("ncclAllReduce");
  traffic_.up += bytes_of(n);
  traffic_.down += bytes_of(n);
}

}  // namespace ferret
