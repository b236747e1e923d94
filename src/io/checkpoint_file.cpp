// defines: write_checkpoint, read_checkpoint, latest_checkpoint, checkpoint_name (see
//          checkpoint_file.hpp for the layout)
//
// A checkpoint is what a resumed run trusts blindly, so writing it is paranoid: temp file, full
// read-back comparison, fsync, rename, fsync of the directory; reading it recomputes both checksums.
#include "io/checkpoint_file.hpp"
#include "io/write_guard.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>

#include "io/checksum.hpp"
#include "io/h5_handle.hpp"

namespace ferret {
using namespace h5;
namespace {

namespace fs = std::filesystem;

constexpr int64_t kCheckpointFormatVersion = 1;

const std::string kParamsGroup = "/params";
const std::string kMomentum = "/server/momentum";
const std::string kExtra = "/server/extra";
const std::string kPrivacyRdp = "/privacy/rdp";

std::string param_path(const std::string& name) { return kParamsGroup + "/" + name; }

// Names become HDF5 link names: '/' would make nested groups and "." names the group itself.
void validate_params(const std::string& path, const std::vector<TensorEntry>& params) {
  std::vector<std::string> names;
  for (const auto& t : params) {
    const std::string desc = "tensor '" + t.name + "'";
    if (t.name.empty() || t.name == "." || t.name.find('/') != std::string::npos || t.name.find('\0') != std::string::npos)
      fail(path, "cannot write", desc, "name must be non-empty and contain no '/'");
    size_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) fail(path, "cannot write", desc, "negative dimension");
      numel *= static_cast<size_t>(d);
    }
    if (numel != t.data.size())
      fail(path, "cannot write", desc,
           "shape holds " + std::to_string(numel) + " values but data has " + std::to_string(t.data.size()));
    names.push_back(t.name);
  }
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup != names.end()) fail(path, "cannot write", "tensor '" + *dup + "'", "name appears twice");
}

void write_float_vector(const File& f, const std::string& name, const std::vector<float>& values) {
  Handle dset = create_fixed_float_dataset(f, name, {values.size()});
  write_whole(f, dset.get(), name, values.data(), values.size());
}

void write_checkpoint_file(const std::string& path, const Checkpoint& ckpt, uint64_t params_checksum,
                           uint64_t server_checksum) {
  File f = create_file(path, /*exclusive=*/false);  // a stale temp of a dead process with our pid is replaced
  {
    Handle root = open_group(f, "/");
    write_attr<int64_t>(f, root.get(), "/", "format_version", kCheckpointFormatVersion);
    write_attr<int64_t>(f, root.get(), "/", "round", ckpt.round);
    write_attr<uint64_t>(f, root.get(), "/", "seed", ckpt.seed);
    write_string_attr(f, root.get(), "/", "algorithm", ckpt.algorithm);
    write_string_attr(f, root.get(), "/", "config", ckpt.config);
    write_attr<uint64_t>(f, root.get(), "/", "params_checksum", params_checksum);
    write_attr<uint64_t>(f, root.get(), "/", "server_checksum", server_checksum);
    create_group(f, kParamsGroup);
    for (size_t i = 0; i < ckpt.params.size(); ++i) {
      const TensorEntry& t = ckpt.params[i];
      const std::string name = param_path(t.name);
      Handle dset = create_fixed_float_dataset(f, name, std::vector<hsize_t>(t.shape.begin(), t.shape.end()));
      write_whole(f, dset.get(), name, t.data.data(), t.data.size());
      write_attr<int64_t>(f, dset.get(), name, "index", static_cast<int64_t>(i));
    }
    create_group(f, "/server");
    write_float_vector(f, kMomentum, ckpt.server_momentum);
    write_float_vector(f, kExtra, ckpt.server_state_extra);
    if (!ckpt.privacy_rdp.empty()) {
      create_group(f, "/privacy");
      Handle dset = create_fixed_double_dataset(f, kPrivacyRdp, {ckpt.privacy_rdp.size()});
      write_whole(f, dset.get(), kPrivacyRdp, ckpt.privacy_rdp.data(), ckpt.privacy_rdp.size());
    }
  }
  close_file(f);
}

// Receives the tensors of a checkpoint in order, one at a time, so a verifier need not hold a
// second copy of the model.
using TensorSink = std::function<void(size_t index, TensorEntry&& tensor)>;

// The names in /params, in the order of their `index` attributes (which must be 0..n-1).
std::vector<std::string> param_names_in_order(const File& f) {
  Handle group = open_group(f, kParamsGroup);
  std::vector<std::string> names = link_names(f, group.get(), kParamsGroup);
  std::vector<std::string> ordered(names.size());
  for (const auto& name : names) {
    Handle dset = open_dataset(f, param_path(name));
    const int64_t index = read_attr<int64_t>(f, dset.get(), param_path(name), "index");
    if (index < 0 || static_cast<size_t>(index) >= names.size() || !ordered[static_cast<size_t>(index)].empty())
      fail(f.path, "bad", attr_desc(param_path(name), "index"),
           std::to_string(index) + " is out of range or repeated among " + std::to_string(names.size()) + " tensors");
    ordered[static_cast<size_t>(index)] = name;
  }
  return ordered;
}

TensorEntry read_tensor(const File& f, const std::string& name) {
  Handle dset = open_dataset(f, param_path(name));
  auto [values, dims] = read_whole<float>(f, dset.get(), param_path(name));
  return TensorEntry{name, std::vector<int64_t>(dims.begin(), dims.end()), std::move(values)};
}

// The root attributes into `ckpt` (round, seed, algorithm, config, params_checksum); returns the
// stored server_checksum, which has no field of its own.
uint64_t read_root_attributes(const File& f, Checkpoint& ckpt) {
  Handle root = open_group(f, "/");
  const int64_t format = read_attr<int64_t>(f, root.get(), "/", "format_version");
  if (format != kCheckpointFormatVersion)
    fail(f.path, "unsupported", attr_desc("/", "format_version"), "version " + std::to_string(format));
  ckpt.round = read_attr<int64_t>(f, root.get(), "/", "round");
  ckpt.seed = read_attr<uint64_t>(f, root.get(), "/", "seed");
  ckpt.algorithm = read_string_attr(f, root.get(), "/", "algorithm");
  ckpt.config = read_string_attr(f, root.get(), "/", "config");
  ckpt.params_checksum = read_attr<uint64_t>(f, root.get(), "/", "params_checksum");
  return read_attr<uint64_t>(f, root.get(), "/", "server_checksum");
}

// Reads a checkpoint, handing each tensor to `sink`; returns everything else. Verifies both
// checksums against the data actually read.
Checkpoint read_checkpoint_streaming(const std::string& path, const TensorSink& sink) {
  File f = open_file(path, /*writable=*/false);
  Checkpoint ckpt;
  const uint64_t stored_server_checksum = read_root_attributes(f, ckpt);
  ParamsChecksum params_checksum;
  const std::vector<std::string> names = param_names_in_order(f);
  for (size_t i = 0; i < names.size(); ++i) {
    TensorEntry t = read_tensor(f, names[i]);
    params_checksum.add(t.data);
    sink(i, std::move(t));
  }
  if (params_checksum.value() != ckpt.params_checksum)
    fail(path, "corrupt", group_desc(kParamsGroup), "data does not match the stored params_checksum");
  ckpt.server_momentum = read_vector<float>(f, kMomentum);
  ckpt.server_state_extra = read_vector<float>(f, kExtra);
  if (link_exists(f, "/privacy") && link_exists(f, kPrivacyRdp)) ckpt.privacy_rdp = read_vector<double>(f, kPrivacyRdp);
  if (checksum_server_state(ckpt.server_momentum, ckpt.server_state_extra) != stored_server_checksum)
    fail(path, "corrupt", group_desc("/server"), "data does not match the stored server_checksum");
  close_file(f);
  return ckpt;
}

// Re-reads the written file and compares it with what was meant to be written, value for value.
void verify_written_checkpoint(const std::string& path, const Checkpoint& expected, uint64_t params_checksum) {
  auto compare = [&](size_t i, TensorEntry&& t) {
    const TensorEntry* want = i < expected.params.size() ? &expected.params[i] : nullptr;
    if (want == nullptr || t.name != want->name || t.shape != want->shape || t.data.size() != want->data.size() ||
        (!t.data.empty() && std::memcmp(t.data.data(), want->data.data(), t.data.size() * sizeof(float)) != 0))
      fail(path, "verification failed for", "tensor #" + std::to_string(i) + " '" + t.name + "'", "read back differs");
  };
  size_t seen = 0;
  Checkpoint back = read_checkpoint_streaming(path, [&](size_t i, TensorEntry&& t) {
    compare(i, std::move(t));
    ++seen;
  });
  if (seen != expected.params.size()) fail(path, "verification failed for", group_desc(kParamsGroup), "tensor count differs");
  if (back.round != expected.round || back.seed != expected.seed || back.algorithm != expected.algorithm ||
      back.config != expected.config || back.params_checksum != params_checksum ||
      back.server_momentum != expected.server_momentum || back.server_state_extra != expected.server_state_extra ||
      back.privacy_rdp != expected.privacy_rdp)
    fail(path, "verification failed for", "file", "read back differs from what was written");
}

// Pushes data to the disk: the temp file's before the rename makes it the checkpoint (otherwise a
// power loss could leave `path` naming a file whose blocks never arrived), and the directory's
// after it, so the rename itself survives. A directory that cannot be opened or synced is let go.
void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) {
    if (directory) return;  // some file systems cannot open directories; the rename is still atomic
    fail(path, "cannot open", "file", "for fsync: " + std::string(std::strerror(errno)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && !directory) fail(path, "cannot fsync", "file", std::strerror(err));
}

std::string temp_path_for(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

// Parses "round_<digits>.h5" (six or more digits, as checkpoint_name writes them).
std::optional<int64_t> round_of_checkpoint_name(const std::string& name) {
  const std::string prefix = "round_", suffix = ".h5";
  if (name.size() < prefix.size() + 6 + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const char* first = name.data() + prefix.size();
  const char* last = name.data() + name.size() - suffix.size();
  if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  int64_t round = 0;
  auto [end, ec] = std::from_chars(first, last, round);
  if (ec != std::errc() || end != last) return std::nullopt;
  return round;
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  silence_hdf5_errors();
  validate_params(path, ckpt.params);
  check_directory_exists(path);
  const uint64_t params_checksum = checksum_params(ckpt.params);
  const uint64_t server_checksum = checksum_server_state(ckpt.server_momentum, ckpt.server_state_extra);
  const std::string temp = temp_path_for(path);
  std::error_code ec;
  try {
    write_checkpoint_file(temp, ckpt, params_checksum, server_checksum);
    verify_written_checkpoint(temp, ckpt, params_checksum);
    fsync_path(temp, /*directory=*/false);
    const WriteGuard guard;  // a process told to stop renames all of it or none
    fs::rename(temp, path, ec);
    if (ec) fail(path, "cannot rename '" + temp + "' to", "", ec.message());
  } catch (...) {
    fs::remove(temp, ec);
    throw;
  }
  const fs::path parent = fs::path(path).parent_path();
  fsync_path(parent.empty() ? "." : parent.string(), /*directory=*/true);  // make the rename itself durable
}

Checkpoint read_checkpoint(const std::string& path) {
  silence_hdf5_errors();
  std::vector<TensorEntry> params;
  Checkpoint ckpt = read_checkpoint_streaming(path, [&](size_t, TensorEntry&& t) { params.push_back(std::move(t)); });
  ckpt.params = std::move(params);
  return ckpt;
}

std::string latest_checkpoint(const std::string& dir) {
  std::error_code ec;
  std::optional<int64_t> best_round;
  std::string best;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::optional<int64_t> round = round_of_checkpoint_name(name);
    std::error_code type_ec;  // a file vanishing mid-scan must not end the scan
    if (!round || !it->is_regular_file(type_ec)) continue;
    if (!best_round || *round > *best_round) {
      best_round = round;
      best = it->path().string();
    }
  }
  return best;
}

std::string checkpoint_name(int64_t round) {
  if (round < 0) throw std::runtime_error("h5io: negative checkpoint round " + std::to_string(round));
  char buf[32];
  std::snprintf(buf, sizeof buf, "round_%06lld.h5", static_cast<long long>(round));
  return buf;
}

}  // namespace ferret
