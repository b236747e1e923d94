// defines: NcclComm: NCCL collectives on device buffers, the communicator bootstrapped over MPI
// (semantics in nccl_comm.hpp).
#include "comm/nccl_comm.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <stdexcept>
#include <string>

#include "comm/mpi_comm.hpp"
#include "cuda/cuda_check.hpp"

namespace ferret {
namespace {

void nccl_check(ncclResult_t result, const char* call, ncclComm_t comm = nullptr) {
  if (result == ncclSuccess) return;
  std::string text = std::string("NCCL: ") + call + " failed: " + ncclGetErrorString(result);
  const char* detail = ncclGetLastError(comm);  // NCCL's last message (comm may be null)
  if (detail && *detail) text += std::string(": ") + detail;
  throw std::runtime_error(text);
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

NcclComm::~NcclComm() {  // no throw from a destructor
  sub_comms_.release_all([](ncclComm_t c) {
    if (c) ncclCommDestroy(c);
  });
  if (comm_) ncclCommDestroy(comm_);
}

void NcclComm::finish(const char* call, ncclComm_t comm) {
  FERRET_CUDA_CHECK(cudaStreamSynchronize(stream_));
  ncclResult_t async = ncclSuccess;
  nccl_check(ncclCommGetAsyncError(comm, &async), "ncclCommGetAsyncError", comm);
  nccl_check(async, call, comm);
}

ncclComm_t NcclComm::sub_comm(const std::vector<bool>& members) {
  // key = world rank, so world rank 0 is rank 0 (the root) of the split.
  return sub_comms_.get(members, rank_, size_, "NcclComm", [this](bool in) {
    ncclComm_t c = nullptr;
    nccl_check(ncclCommSplit(comm_, in ? 0 : NCCL_SPLIT_NOCOLOR, rank_, &c, nullptr), "ncclCommSplit", comm_);
    return c;
  });
}

void NcclComm::reduce_sum_to_root(std::span<float> buf, const std::vector<bool>& members) {
  ncclComm_t c = sub_comm(members);
  if (!c) return;  // this rank hosts no selected client and is not the root
  float* result = rank_ == 0 ? buf.data() : nullptr;  // NCCL writes no receive buffer off the root
  nccl_check(ncclReduce(buf.data(), result, buf.size(), ncclFloat32, ncclSum, 0, c, stream_), "ncclReduce", c);
  finish("ncclReduce", c);
  if (members[rank_]) traffic_.up += bytes_of(buf.size());
}

void NcclComm::broadcast_from_root(std::span<float> buf) {
  nccl_check(ncclBroadcast(buf.data(), buf.data(), buf.size(), ncclFloat32, 0, comm_, stream_), "ncclBroadcast", comm_);
  finish("ncclBroadcast", comm_);
  if (rank_ != 0) traffic_.down += bytes_of(buf.size());
}

}  // namespace ferret
