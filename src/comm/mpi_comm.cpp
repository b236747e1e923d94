// defines: the implementation of mpi_comm.hpp
#include "comm/mpi_comm.hpp"

#include <algorithm>
#include <stdexcept>

namespace ferret {

void mpi_check(int err, const char* call) {
  if (err == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(err, text, &len);
  throw std::runtime_error(std::string("MPI: ") + call + " failed: " + std::string(text, len));
}

namespace {

#define FERRET_MPI(call) mpi_check((call), #call)

uint64_t bytes_of(std::span<const float> s) { return s.size() * sizeof(float); }

// MPI counts are ints, and several transports mishandle single messages of 2 GiB or more, so a
// large buffer (FedAvg's d floats for a multi-billion-parameter model) travels in pieces of at most
// max_floats; the result is identical because the operations are element-wise.
template <class F>
void for_each_chunk(std::span<float> buf, size_t max_floats, F&& f) {
  for (size_t start = 0; start < buf.size(); start += max_floats)
    f(buf.data() + start, static_cast<int>(std::min(max_floats, buf.size() - start)));
}

// Element-wise float sum into rank 0's buffer (in place there).
void reduce_sum_in_place(std::span<float> buf, MPI_Comm comm, int rank, size_t max_floats) {
  for_each_chunk(buf, max_floats, [&](float* data, int n) {
    FERRET_MPI(MPI_Reduce(rank == 0 ? MPI_IN_PLACE : data, rank == 0 ? data : nullptr, n, MPI_FLOAT, MPI_SUM, 0, comm));
  });
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  FERRET_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  FERRET_MPI(MPI_Comm_rank(comm_, &rank_));
  FERRET_MPI(MPI_Comm_size(comm_, &size_));
}

Comm::~Comm() {
  sub_comms_.release_all([](MPI_Comm& c) {
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);
  });
}

MPI_Comm Comm::sub_comm(const std::vector<bool>& members) {
  return sub_comms_.get(members, rank_, size_, "Comm", [this](bool in) {
    MPI_Comm c = MPI_COMM_NULL;
    FERRET_MPI(MPI_Comm_split(comm_, in ? 0 : MPI_UNDEFINED, rank_, &c));
    return c;
  });
}

void Comm::reduce_sum_to_root(std::span<float> buf, const std::vector<bool>& members) {
  MPI_Comm c = sub_comm(members);
  if (c == MPI_COMM_NULL) return;  // this rank hosts no selected client and is not the root
  if (members[rank_]) traffic_.up += bytes_of(buf);
  reduce_sum_in_place(buf, c, rank_, max_message_floats_);  // rank 0 is rank 0 of every sub-communicator (key = world rank)
}

void Comm::reduce_sum_to_root(std::span<uint64_t> buf, const std::vector<bool>& members) {
  MPI_Comm c = sub_comm(members);
  if (c == MPI_COMM_NULL) return;
  if (members[rank_]) traffic_.up += buf.size() * sizeof(uint64_t);
  const size_t max_values = std::max<size_t>(1, max_message_floats_ / 2);  // the float reduce's bytes per message
  for (size_t start = 0; start < buf.size(); start += max_values) {
    uint64_t* data = buf.data() + start;
    const int n = static_cast<int>(std::min(max_values, buf.size() - start));
    FERRET_MPI(MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : data, rank_ == 0 ? data : nullptr, n, MPI_UINT64_T, MPI_SUM, 0, c));
  }
}

void Comm::broadcast_from_root(std::span<float> buf) {
  for_each_chunk(buf, max_message_floats_,
                 [&](float* data, int n) { FERRET_MPI(MPI_Bcast(data, n, MPI_FLOAT, 0, comm_)); });
  if (rank_ != 0) traffic_.down += bytes_of(buf);
}

std::vector<uint64_t> Comm::allgather(uint64_t value) {
  std::vector<uint64_t> all(size_);
  FERRET_MPI(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_));
  traffic_.control += sizeof(uint64_t);
  return all;
}

std::string Comm::broadcast_string(const std::string& value, int root) {
  uint64_t n = value.size();
  FERRET_MPI(MPI_Bcast(&n, 1, MPI_UINT64_T, root, comm_));
  std::string out = rank_ == root ? value : std::string(n, '\0');
  FERRET_MPI(MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, root, comm_));
  traffic_.control += sizeof(n) + n;
  return out;
}

void Comm::allreduce_control(std::span<double> buf, Op op) {
  FERRET_MPI(MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(buf.size()), MPI_DOUBLE,
                           op == Op::sum ? MPI_SUM : MPI_MAX, comm_));
  traffic_.control += buf.size() * sizeof(double);
}

void Comm::reduce_sum_to_root_control(std::span<float> buf) {
  reduce_sum_in_place(buf, comm_, rank_, max_message_floats_);
  traffic_.control += bytes_of(buf);
}

void Comm::set_max_message_bytes(size_t bytes) {
  if (bytes < sizeof(float) || bytes > kMaxMessageBytes)
    throw std::invalid_argument("Comm: max message size " + std::to_string(bytes) + " B is invalid: allowed 4 .. " +
                                std::to_string(kMaxMessageBytes));
  max_message_floats_ = bytes / sizeof(float);
}

void Comm::barrier() { FERRET_MPI(MPI_Barrier(comm_)); }

void Comm::abort(int code) const { MPI_Abort(comm_, code); std::abort(); }

std::vector<int> ranks_differing_from_root(std::span<const uint64_t> values) {
  std::vector<int> differing;
  for (size_t r = 1; r < values.size(); ++r)
    if (values[r] != values[0]) differing.push_back(static_cast<int>(r));
  return differing;
}

}  // namespace ferret
