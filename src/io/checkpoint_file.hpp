// defines: TensorEntry, Checkpoint, write_checkpoint, read_checkpoint, latest_checkpoint,
//          checkpoint_name — the checkpoint file round_NNNNNN.h5
//
// A checkpoint holds everything a resumed run needs to continue bit for bit: the parameters, the
// server optimiser's momentum, the algorithm's own state and the resolved config (sampling and
// RNG state need no storing: every stream is counter-based, keyed by the round number).
// Plain HDF5 (h5py/h5dump read it); no <hdf5.h> here, callers need not see the C API.
//
// ---- round_NNNNNN.h5 (format_version 1) ---------------------------------------------------------
// Root attributes (scalars):
//   format_version   int64 LE   1; read_checkpoint refuses any other value
//   round            int64 LE   rounds completed
//   seed             uint64 LE  the run's --seed
//   algorithm        string     "ferret", "fedavg", "fedkseed", ...
//   config           string     the resolved INI text
//   params_checksum  uint64 LE  checksum_params of /params (checksum.hpp)
//   server_checksum  uint64 LE  checksum_server_state of /server/momentum and /server/extra
// Strings are variable-length UTF-8 (fixed-length ones are accepted on read).
//   /params/<name>     float32 LE, the tensor's own shape (a scalar dataspace for shape {}; zero
//                      extents allowed), contiguous; attribute `index` int64 LE = its position in
//                      Checkpoint::params (0..n-1, each once: HDF5 lists links by name, so the
//                      order comes from here)
//   /server/momentum   float32 LE, 1-D: the server's heavy-ball momentum in the algorithm's update
//                      space (K for Ferret, d for FedAvg); length 0 when --server-momentum is 0
//   /server/extra      float32 LE, 1-D, Checkpoint::server_state_extra (often length 0)
//   /privacy/rdp       float64 LE, 1-D, only under --dp-clip: the accountant's RDP per order
//                      (Checkpoint::privacy_rdp); absent = no privacy accounting
// Object formats of HDF5 1.8+ (object-header checksums), as for metrics.h5.
//
// Every failure is a std::runtime_error with one line starting "h5io: " and naming the file, the
// object and what failed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferret {

// One named parameter tensor; name like "model.layers.0.self_attn.q_proj.weight": non-empty,
// not ".", no '/' and no NUL (it becomes an HDF5 link name), unique within a checkpoint.
struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;  // product must equal data.size(); empty shape = scalar
  std::vector<float> data;
};

struct Checkpoint {
  int64_t round = 0;  // rounds completed
  uint64_t seed = 0;
  std::string algorithm, config;           // config: resolved INI text
  std::vector<TensorEntry> params;         // order is kept
  std::vector<float> server_momentum;      // ServerOptimizer::momentum(); empty when momentum is off
  // Algorithm::state(): what an algorithm needs beyond the parameters to resume bit for bit.
  // FedKSeed-Pro: its seed history, 2K floats (K per-seed sums of |clipped scalar gradient|, then
  // the K per-seed counts); empty for every other algorithm, plain FedKSeed included.
  std::vector<float> server_state_extra;
  // The RDP accountant's accumulated RDP per order (privacy/rdp_accountant.hpp) under --dp-clip, so
  // a resumed run reports the ε of an uninterrupted one; empty (and absent from the file) otherwise.
  std::vector<double> privacy_rdp;
  // checksum_params(params). write_checkpoint ignores this field and computes it from `params`;
  // read_checkpoint fills it (after checking that the data still hashes to it).
  uint64_t params_checksum = 0;
};

// Atomic: validates the tensors, writes "<path>.tmp.<pid>" and closes it, re-reads it and
// compares every tensor (name, shape, values bit for bit), the attributes and the server state
// with what was meant to be written, fsyncs it, renames it over `path`, then fsyncs the
// directory. On any failure the temp file is removed and the call throws; `path` is either the
// old file or the new one, never half of one.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Reads and verifies (recomputed checksums must match the stored ones). Missing file, not HDF5,
// missing group/dataset/attribute, bad shape or index, checksum mismatch → std::runtime_error
// naming the file and what is wrong.
Checkpoint read_checkpoint(const std::string& path);
// Path of the newest regular file "round_NNNNNN.h5" (six or more digits) in `dir` by round
// number, or "" if none (or no dir). Temp files ("....h5.tmp.<pid>") never match.
std::string latest_checkpoint(const std::string& dir);
// "round_000012.h5" (at least six digits). Throws for a negative round.
std::string checkpoint_name(int64_t round);

}  // namespace ferret
