// defines: MpiSession, Comm — the only place that talks to MPI
//
// Comm is the MPI backend of DataComm (data_comm.hpp: the float collectives of a round, on host
// memory, and the traffic accounting) plus the control plane every run needs whatever the data
// backend: allgather, strings, control reductions, barrier, abort. It knows buffers, not models.
// Collectives on one rank (np = 1) still go through MPI and are counted the same way.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "comm/data_comm.hpp"
#include "comm/sub_comm_cache.hpp"

namespace ferret {

// Initialises MPI for the life of the object (threads: funneled; only the main thread calls MPI).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class Comm final : public DataComm {
 public:
  explicit Comm(MPI_Comm comm = MPI_COMM_WORLD);
  ~Comm() override;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool is_root() const { return rank_ == 0; }
  bool device_buffers() const override { return false; }
  const Traffic& traffic() const override { return traffic_; }

  // DataComm's reduce: only members and rank 0 take part (a cached sub-communicator), so a rank
  // without selected clients sends nothing. Counted as `up` by each member (rank 0 too when it is
  // a member, i.e. hosts clients).
  void reduce_sum_to_root(std::span<float> buf, const std::vector<bool>& members) override;
  void broadcast_from_root(std::span<float> buf) override;
  // The same reduce over uint64 (exact modulo 2^64): secure aggregation's masked fixed-point
  // uploads (privacy/secure_aggregation.hpp). Counted as `up` like the float reduce.
  void reduce_sum_to_root(std::span<uint64_t> buf, const std::vector<bool>& members);

  // Control-plane helpers (counted as `control`).
  enum class Op { sum, max };
  std::vector<uint64_t> allgather(uint64_t value);
  // `root`'s string on every rank (decisions made once, errors found on one rank).
  std::string broadcast_string(const std::string& value, int root = 0);
  void allreduce_control(std::span<double> buf, Op op);
  void reduce_sum_to_root_control(std::span<float> buf);

  void barrier();
  [[noreturn]] void abort(int code) const;

  // Float buffers travel in messages of at most this many bytes (default and maximum 2^31 − 4:
  // MPI counts are ints and 2 GiB messages break some transports). Smaller values are for tests.
  static constexpr size_t kMaxMessageBytes = (size_t{1} << 31) - 4;
  void set_max_message_bytes(size_t bytes);

 private:
  MPI_Comm sub_comm(const std::vector<bool>& members);

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  Traffic traffic_;
  size_t max_message_floats_ = kMaxMessageBytes / sizeof(float);
  SubCommCache<MPI_Comm> sub_comms_;  // by membership; rank 0 is always in
};

// Throws std::runtime_error naming `call` and MPI's error string unless err is MPI_SUCCESS (used by
// the MPI and the NCCL backends alike).
void mpi_check(int err, const char* call);

// Ranks whose value differs from rank 0's (replica checksums gathered with Comm::allgather).
std::vector<int> ranks_differing_from_root(std::span<const uint64_t> values);

}  // namespace ferret
