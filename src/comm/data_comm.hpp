// defines: DataComm, Traffic — where a round's float buffers travel (the data plane)
//
// The round needs two float collectives on K- or d-length buffers: the clients' sum to the server
// and the server's step to everyone. Two backends implement them:
//   Comm     (mpi_comm.hpp)  host memory over MPI; the default, and the only one on CPU runs;
//   NcclComm (nccl_comm.hpp) CUDA device memory over NCCL (built when CUDA is found), for
//                            parameters that live on GPUs (--device cuda --data-comm nccl); its
//                            unique id travels by MPI_Bcast.
// The control plane (checksums, timings, strings, barriers, abort) stays on MPI in both cases.
//
// Every call counts the payload this rank hands to the backend, in one of three categories, so the
// bytes in metrics.h5 are measured where they are sent, not computed from a formula:
//   up      — client data on its way to the server (counted by each sending rank);
//   down    — what a rank receives from the server (counted by each receiving rank);
//   control — bookkeeping that is not part of the algorithm (Comm only).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ferret {

struct Traffic {
  uint64_t up = 0, down = 0, control = 0;
  Traffic operator-(const Traffic& o) const { return {up - o.up, down - o.down, control - o.control}; }
};

class DataComm {
 public:
  virtual ~DataComm() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // True when the buffers are CUDA device memory (NcclComm), false for host memory (Comm).
  virtual bool device_buffers() const = 0;

  // Σ of `buf` over `members` (one flag per rank: the ranks that hold client data this round) into
  // rank 0's `buf`. Every rank calls it with the same `members`. Counted as `up` by each rank
  // that sends data.
  virtual void reduce_sum_to_root(std::span<float> buf, const std::vector<bool>& members) = 0;
  // Rank 0's `buf` to every rank. Counted as `down` by each receiving rank.
  virtual void broadcast_from_root(std::span<float> buf) = 0;

  virtual const Traffic& traffic() const = 0;
};

}  // namespace ferret
