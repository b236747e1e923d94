// defines: NcclComm — the data-plane collectives of a round (reduce to rank 0, broadcast from
//          rank 0, all-reduce) on device buffers through NCCL, bootstrapped over MPI.
//
// ---- Proposed common interface (not wired yet; comm.hpp is unchanged) ---------------------------
// The round loop needs only three float collectives on d- or K-length buffers; the control plane
// (allgather of checksums, strings, timings, barriers, abort) stays on MPI in both cases. So:
//
//   // Where a round's float buffers travel: host memory over MPI (Comm) or device memory over
//   // NCCL (NcclComm). Every rank calls each function in the same order.
//   class DataComm {
//    public:
//     virtual ~DataComm() = default;
//     virtual bool device_buffers() const = 0;   // true: the pointers are CUDA device memory
//     // Σ over `members` into rank 0's buf (non-members send nothing; NCCL: they send zeros or
//     // use a cached ncclCommSplit of the members, like Comm's MPI sub-communicators).
//     virtual void reduce_sum_to_root(float* buf, size_t n, const std::vector<bool>& members) = 0;
//     virtual void broadcast_from_root(float* buf, size_t n) = 0;
//     virtual void allreduce_sum(float* buf, size_t n) = 0;  // FedAvg's d-vector
//     virtual const Traffic& traffic() const = 0;           // the same up / down accounting
//   };
//
// with Comm implementing it on spans of host memory (its existing chunked MPI code) and NcclComm on
// device memory; `--device cuda` would construct an NcclComm next to the MPI Comm, run
// cuda_project / cuda_reconstruct_add (cuda_projection.hpp) on the parameters, and pass K-length
// coefficient vectors through either (they are small: MPI on the host is as good), while
// FedAvg's d-length update uses NcclComm::allreduce_sum on the device.
//
// ---- Semantics ----------------------------------------------------------------------------------
// Construction is collective over the MPI communicator: rank 0 creates the ncclUniqueId, MPI_Bcast
// gives it to every rank, each calls ncclCommInitRank on its CURRENT CUDA device (call
// select_cuda_device() first; NCCL requires a different device per rank). Every collective runs on
// `stream` (nullptr: the legacy default stream, ordered after all work of blocking streams, e.g.
// LibTorch's default stream) and returns once the result is in the buffer (it synchronizes the
// stream), so host code may use it at once. NCCL counts are size_t: no chunking is needed.
// Errors throw std::runtime_error naming the call and NCCL's / CUDA's error string.
// Traffic is counted like Comm: reduce -> `up` by every rank (all ranks send), broadcast -> `down`
// by every rank but 0, allreduce -> `up` and `down` by every rank.
#pragma once

#include <mpi.h>

#include <cstddef>

#include "ferret/comm.hpp"  // Traffic

struct ncclComm;     // NCCL's communicator: ncclComm_t is ncclComm*
struct CUstream_st;  // cudaStream_t is CUstream_st*

namespace ferret {

class NcclComm {
 public:
  explicit NcclComm(MPI_Comm comm = MPI_COMM_WORLD, CUstream_st* stream = nullptr);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }  // the CUDA device this rank's communicator uses
  const Traffic& traffic() const { return traffic_; }

  // Element-wise Σ over all ranks of device_buf[0, n) into rank 0's device_buf (in place there;
  // the other ranks' buffers are left unchanged).
  void reduce_sum_to_root(float* device_buf, size_t n);
  // Rank 0's device_buf[0, n) to every rank.
  void broadcast_from_root(float* device_buf, size_t n);
  // Element-wise Σ over all ranks into every rank's device_buf.
  void allreduce_sum(float* device_buf, size_t n);

 private:
  void finish(const char* call);  // waits for the stream, then checks NCCL's asynchronous error

  ncclComm* comm_ = nullptr;
  CUstream_st* stream_ = nullptr;
  int rank_ = 0, size_ = 1, device_ = -1;
  Traffic traffic_;
};

}  // namespace ferret
