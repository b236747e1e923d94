// defines: MpiSession, Comm, Traffic — the only place that talks to MPI
//
// Comm knows buffers, not models. Every call counts the payload this rank hands to MPI, in one of
// three categories, so the bytes in metrics.h5 are measured where they are sent, not computed
// from a formula:
//   up      — client data on its way to the server (the coefficient vector + header, the block
//             norms for the norm allocation, FedAvg's full update), counted by each sending rank;
//   down    — what a rank receives from the server (the broadcast update), counted by each receiver;
//   control — bookkeeping that is not part of the algorithm (replica checksums, timings, losses).
// Collectives on one rank (np = 1) still go through MPI and are counted the same way.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace ferret {

struct Traffic {
  uint64_t up = 0, down = 0, control = 0;
  Traffic operator-(const Traffic& o) const { return {up - o.up, down - o.down, control - o.control}; }
};

// Initialises MPI for the life of the object (threads: funneled; only the main thread calls MPI).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class Comm {
 public:
  explicit Comm(MPI_Comm comm = MPI_COMM_WORLD);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  const Traffic& traffic() const { return traffic_; }

  // Sum of `buf` over `members` (ranks that hold client data this round) into rank 0's `buf`.
  // Only members and rank 0 take part (a cached sub-communicator), so a rank without selected
  // clients sends nothing. Every rank of the world must call it with the same `members`.
  // Counted as `up` by each member (rank 0 too when it is a member, i.e. hosts clients).
  void reduce_sum_to_root(std::span<float> buf, const std::vector<bool>& members);

  // Rank 0's `buf` to every rank. Counted as `down` by each receiving rank.
  void broadcast_from_root(std::span<float> buf);

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
  std::map<std::vector<bool>, MPI_Comm> sub_comms_;  // by membership; rank 0 is always in
};

// Ranks whose value differs from rank 0's (replica checksums gathered with Comm::allgather).
std::vector<int> ranks_differing_from_root(std::span<const uint64_t> values);

}  // namespace ferret
