// defines: NcclComm — DataComm's collectives of a round (reduce to rank 0, broadcast from rank 0,
//          all-reduce) on device buffers through NCCL, bootstrapped over MPI.
//
// The NCCL backend of DataComm (data_comm.hpp). `--device cuda --data-comm nccl` runs construct one
// next to the MPI Comm (run.cpp) and pass the round's payloads through it on the GPUs: FedAvg's
// d-length update without a trip through host memory, Ferret's K coefficients likewise.
//
// ---- Semantics ----------------------------------------------------------------------------------
// Construction is collective over the MPI communicator: rank 0 creates the ncclUniqueId, MPI_Bcast
// gives it to every rank, each calls ncclCommInitRank on its CURRENT CUDA device (call
// select_cuda_device() first; NCCL requires a different device per rank). Every collective runs on
// `stream` (nullptr: the legacy default stream, ordered after all work of blocking streams, e.g.
// LibTorch's default stream) and returns once the result is in the buffer (it synchronizes the
// stream), so host code may use it at once. NCCL counts are size_t: no chunking is needed.
// Errors throw std::runtime_error naming the call and NCCL's / CUDA's error string.
// Traffic is counted like Comm: reduce -> `up` by every member, broadcast -> `down` by every rank
// but 0.
#pragma once

#include <mpi.h>

#include <cstddef>

#include <vector>

#include "comm/data_comm.hpp"
#include "comm/sub_comm_cache.hpp"

struct ncclComm;     // NCCL's communicator: ncclComm_t is ncclComm*
struct CUstream_st;  // cudaStream_t is CUstream_st*

namespace ferret {

class NcclComm final : public DataComm {
 public:
  explicit NcclComm(MPI_Comm comm = MPI_COMM_WORLD, CUstream_st* stream = nullptr);
  ~NcclComm() override;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool device_buffers() const override { return true; }
  int device() const { return device_; }  // the CUDA device this rank's communicator uses
  const Traffic& traffic() const override { return traffic_; }

  // Σ over `members` of buf (device memory) into rank 0's buf (in place there; the other ranks'
  // buffers are left unchanged). Like Comm, only members and rank 0 take part: a communicator
  // split from the world one (ncclCommSplit, collective, cached per membership), so a rank without
  // selected clients sends nothing.
  void reduce_sum_to_root(std::span<float> buf, const std::vector<bool>& members) override;
  // Rank 0's buf to every rank.
  void broadcast_from_root(std::span<float> buf) override;
  // Element-wise Σ over all ranks into every rank's buf.

 private:
  void finish(const char* call, ncclComm* comm);  // waits for the stream, then checks NCCL's async error
  ncclComm* sub_comm(const std::vector<bool>& members);  // null on ranks outside it

  ncclComm* comm_ = nullptr;
  CUstream_st* stream_ = nullptr;
  int rank_ = 0, size_ = 1, device_ = -1;
  Traffic traffic_;
  SubCommCache<ncclComm*> sub_comms_;
};

}  // namespace ferret
