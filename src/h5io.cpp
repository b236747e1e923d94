#include "ferret/h5io.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace ferret {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kCheckpointFormatVersion = 1;

// ---- errors ------------------------------------------------------------------------------------

// HDF5 prints its whole error stack to stderr by default; users should see only our one line.
// Called at every public entry point because the setting is per thread in a thread-safe build.
void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The most specific message on HDF5's error stack ("file signature not found", ...), which says
// more than the API-level "unable to open file". Must run right after the failing call.
std::string innermost_hdf5_reason() {
  std::string reason;
  auto take_first = [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
    if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(out) = err->desc;
    return 0;
  };
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, &reason) < 0) return {};
  std::replace(reason.begin(), reason.end(), '\n', ' ');  // keep the message on one line
  return reason;
}

// "h5io: <action> '<file>' <object>: <detail>" — one line, naming the file and the object.
[[noreturn]] void fail(const std::string& file, const std::string& action, const std::string& object,
                       const std::string& detail = {}) {
  std::string msg = "h5io: " + action + " '" + file + "'";
  if (!object.empty()) msg += " " + object;
  if (!detail.empty()) msg += ": " + detail;
  throw std::runtime_error(msg);
}

// Like fail(), with HDF5's own reason as the detail.
[[noreturn]] void fail_hdf5(const std::string& file, const std::string& action, const std::string& object) {
  fail(file, action, object, innermost_hdf5_reason());
}

void check(herr_t status, const std::string& file, const std::string& action, const std::string& object) {
  if (status < 0) fail_hdf5(file, action, object);
}

std::string dataset_desc(const std::string& name) { return "dataset '" + name + "'"; }
std::string group_desc(const std::string& name) { return "group '" + name + "'"; }
std::string attr_desc(const std::string& object, const std::string& attr) {
  return "attribute '" + attr + "' of '" + object + "'";
}

// ---- RAII for hid_t ----------------------------------------------------------------------------

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      close_quietly();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { close_quietly(); }

  hid_t get() const { return id_; }
  // Closes now and reports the status (closing a file is where buffered writes can fail).
  herr_t close() {
    herr_t status = id_ >= 0 ? closer_(id_) : 0;
    id_ = H5I_INVALID_HID;
    return status;
  }

 private:
  void close_quietly() noexcept {
    if (id_ >= 0) closer_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

Handle own(hid_t id, Handle::Closer closer, const std::string& file, const std::string& action,
           const std::string& object) {
  if (id < 0) fail_hdf5(file, action, object);
  return Handle(id, closer);
}

// An open file and its path (for messages).
struct File {
  Handle handle;
  std::string path;
  hid_t id() const { return handle.get(); }
};

// ---- element types -----------------------------------------------------------------------------

template <class T>
hid_t memory_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, uint64_t>) return H5T_NATIVE_UINT64;
  else static_assert(sizeof(T) == 0, "no HDF5 type for T");
}

// Fixed little-endian types on disk, so files are the same whatever machine wrote them.
template <class T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_IEEE_F64LE;
  else if constexpr (std::is_same_v<T, float>) return H5T_IEEE_F32LE;
  else if constexpr (std::is_same_v<T, int32_t>) return H5T_STD_I32LE;
  else if constexpr (std::is_same_v<T, int64_t>) return H5T_STD_I64LE;
  else if constexpr (std::is_same_v<T, uint64_t>) return H5T_STD_U64LE;
  else static_assert(sizeof(T) == 0, "no HDF5 type for T");
}

template <class T>
H5T_class_t type_class() {
  return std::is_floating_point_v<T> ? H5T_FLOAT : H5T_INTEGER;
}

// Refuses data whose stored class differs from what we read it as (an int dataset read as float
// would convert silently and hide a layout mix-up).
template <class T>
void check_type_class(const File& f, hid_t obj_type, const std::string& object) {
  H5T_class_t cls = H5Tget_class(obj_type);
  if (cls == H5T_NO_CLASS) fail_hdf5(f.path, "cannot get the type of", object);
  if (cls != type_class<T>())
    fail(f.path, "unexpected type in", object, std::string("expected ") + (type_class<T>() == H5T_FLOAT ? "float" : "integer"));
}

// ---- files -------------------------------------------------------------------------------------

// v1.8+ object formats: object headers with checksums (corrupted metadata is detected, not
// misread) and dense attribute storage (the earliest format caps attributes at 64 KiB, too small
// for a large config text). Readable by any HDF5 ≥ 1.8 and h5py. SEMI close degree: closing a
// file with objects still open is an error, so a leaked handle cannot silently keep it open.
Handle file_access_plist(const std::string& path) {
  Handle fapl = own(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "cannot create file access properties for", "");
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), path, "cannot set format bounds for", "");
  check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_SEMI), path, "cannot set close degree for", "");
  return fapl;
}

// exclusive: fail if `path` exists; otherwise truncate it.
File create_file(const std::string& path, bool exclusive) {
  Handle fapl = file_access_plist(path);
  hid_t id = H5Fcreate(path.c_str(), exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  return File{own(id, H5Fclose, path, "cannot create", "file"), path};
}

File open_file(const std::string& path, bool writable) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "cannot open", "file", "no such file");
  if (!fs::is_regular_file(path, ec)) fail(path, "cannot open", "file", "not a regular file");
  htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) fail_hdf5(path, "cannot open", "file");
  if (is_hdf5 == 0) fail(path, "cannot open", "file", "not an HDF5 file");
  Handle fapl = file_access_plist(path);
  hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get());
  return File{own(id, H5Fclose, path, "cannot open", "file"), path};
}

void flush(const File& f) { check(H5Fflush(f.id(), H5F_SCOPE_LOCAL), f.path, "cannot flush", "file"); }

void close_file(File& f) { check(f.handle.close(), f.path, "cannot close", "file"); }

// ---- groups and links --------------------------------------------------------------------------

bool link_exists(const File& f, const std::string& name) {
  htri_t exists = H5Lexists(f.id(), name.c_str(), H5P_DEFAULT);
  if (exists < 0) fail_hdf5(f.path, "cannot look up", "'" + name + "'");
  return exists > 0;
}

Handle create_group(const File& f, const std::string& name) {
  return own(H5Gcreate2(f.id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, f.path,
             "cannot create", group_desc(name));
}

Handle open_group(const File& f, const std::string& name) {
  if (!link_exists(f, name)) fail(f.path, "missing", group_desc(name));
  return own(H5Gopen2(f.id(), name.c_str(), H5P_DEFAULT), H5Gclose, f.path, "cannot open", group_desc(name));
}

Handle open_dataset(const File& f, const std::string& name) {
  if (!link_exists(f, name)) fail(f.path, "missing", dataset_desc(name));
  return own(H5Dopen2(f.id(), name.c_str(), H5P_DEFAULT), H5Dclose, f.path, "cannot open", dataset_desc(name));
}

// Names of the links in a group, sorted by name (HDF5's name index).
std::vector<std::string> link_names(const File& f, hid_t group, const std::string& group_name) {
  H5G_info_t info{};
  check(H5Gget_info(group, &info), f.path, "cannot list", group_desc(group_name));
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    auto name_at = [&](char* buf, size_t size) {
      return H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
    };
    ssize_t length = name_at(nullptr, 0);
    if (length < 0) fail_hdf5(f.path, "cannot list", group_desc(group_name));
    std::string name(static_cast<size_t>(length) + 1, '\0');
    if (name_at(name.data(), name.size()) < 0) fail_hdf5(f.path, "cannot list", group_desc(group_name));
    name.resize(static_cast<size_t>(length));
    names.push_back(std::move(name));
  }
  return names;
}

// ---- attributes --------------------------------------------------------------------------------

// Attributes are replaced rather than rewritten in place, so a string may change length.
void delete_attr_if_present(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr) {
  htri_t exists = H5Aexists(obj, attr.c_str());
  if (exists < 0) fail_hdf5(f.path, "cannot look up", attr_desc(obj_name, attr));
  if (exists > 0) check(H5Adelete(obj, attr.c_str()), f.path, "cannot replace", attr_desc(obj_name, attr));
}

Handle open_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr) {
  htri_t exists = H5Aexists(obj, attr.c_str());
  if (exists < 0) fail_hdf5(f.path, "cannot look up", attr_desc(obj_name, attr));
  if (exists == 0) fail(f.path, "missing", attr_desc(obj_name, attr));
  return own(H5Aopen(obj, attr.c_str(), H5P_DEFAULT), H5Aclose, f.path, "cannot open", attr_desc(obj_name, attr));
}

template <class T>
void write_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr, T value) {
  const std::string desc = attr_desc(obj_name, attr);
  delete_attr_if_present(f, obj, obj_name, attr);
  Handle space = own(H5Screate(H5S_SCALAR), H5Sclose, f.path, "cannot create dataspace for", desc);
  Handle a = own(H5Acreate2(obj, attr.c_str(), file_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                 f.path, "cannot create", desc);
  check(H5Awrite(a.get(), memory_type<T>(), &value), f.path, "cannot write", desc);
}

template <class T>
T read_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr) {
  const std::string desc = attr_desc(obj_name, attr);
  Handle a = open_attr(f, obj, obj_name, attr);
  Handle type = own(H5Aget_type(a.get()), H5Tclose, f.path, "cannot get the type of", desc);
  check_type_class<T>(f, type.get(), desc);
  Handle space = own(H5Aget_space(a.get()), H5Sclose, f.path, "cannot get the dataspace of", desc);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) fail(f.path, "not a single value:", desc);
  T value{};
  check(H5Aread(a.get(), memory_type<T>(), &value), f.path, "cannot read", desc);
  return value;
}

// Variable-length UTF-8 string type: h5py reads it back as str, and any length fits.
Handle vlen_string_type(const File& f, const std::string& desc) {
  Handle type = own(H5Tcopy(H5T_C_S1), H5Tclose, f.path, "cannot create string type for", desc);
  check(H5Tset_size(type.get(), H5T_VARIABLE), f.path, "cannot create string type for", desc);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), f.path, "cannot create string type for", desc);
  return type;
}

void write_string_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr,
                       const std::string& value) {
  const std::string desc = attr_desc(obj_name, attr);
  // A C string ends at the first NUL: refuse rather than store a shortened text.
  if (value.find('\0') != std::string::npos) fail(f.path, "cannot write", desc, "text contains a NUL byte");
  delete_attr_if_present(f, obj, obj_name, attr);
  Handle type = vlen_string_type(f, desc);
  Handle space = own(H5Screate(H5S_SCALAR), H5Sclose, f.path, "cannot create dataspace for", desc);
  Handle a = own(H5Acreate2(obj, attr.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                 f.path, "cannot create", desc);
  const char* text = value.c_str();
  check(H5Awrite(a.get(), type.get(), &text), f.path, "cannot write", desc);
}

std::string read_vlen_string(const File& f, hid_t a, const std::string& desc) {
  Handle type = vlen_string_type(f, desc);
  char* text = nullptr;
  check(H5Aread(a, type.get(), &text), f.path, "cannot read", desc);
  std::string value = text != nullptr ? text : "";
  H5free_memory(text);  // HDF5 allocated it; a failure here only leaks
  return value;
}

// Fixed-length strings are accepted too (other tools write them); padding NULs are dropped.
std::string read_fixed_string(const File& f, hid_t a, size_t size, const std::string& desc) {
  Handle type = own(H5Tcopy(H5T_C_S1), H5Tclose, f.path, "cannot create string type for", desc);
  check(H5Tset_size(type.get(), size), f.path, "cannot create string type for", desc);
  std::string buffer(size, '\0');
  check(H5Aread(a, type.get(), buffer.data()), f.path, "cannot read", desc);
  return buffer.substr(0, buffer.find('\0'));
}

std::string read_string_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr) {
  const std::string desc = attr_desc(obj_name, attr);
  Handle a = open_attr(f, obj, obj_name, attr);
  Handle stored = own(H5Aget_type(a.get()), H5Tclose, f.path, "cannot get the type of", desc);
  if (H5Tget_class(stored.get()) != H5T_STRING) fail(f.path, "not a string:", desc);
  htri_t variable = H5Tis_variable_str(stored.get());
  if (variable < 0) fail_hdf5(f.path, "cannot get the type of", desc);
  if (variable > 0) return read_vlen_string(f, a.get(), desc);
  return read_fixed_string(f, a.get(), H5Tget_size(stored.get()), desc);
}

// ---- datasets ----------------------------------------------------------------------------------

std::vector<hsize_t> extent(const File& f, hid_t dset, const std::string& name) {
  Handle space = own(H5Dget_space(dset), H5Sclose, f.path, "cannot get the dataspace of", dataset_desc(name));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail_hdf5(f.path, "cannot get the shape of", dataset_desc(name));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    fail_hdf5(f.path, "cannot get the shape of", dataset_desc(name));
  return dims;
}

void set_extent(const File& f, hid_t dset, const std::string& name, const std::vector<hsize_t>& dims) {
  check(H5Dset_extent(dset, dims.data()), f.path, "cannot resize", dataset_desc(name));
}

// A float dataset whose unwritten entries read as NaN, not as a plausible 0.
template <class T>
void set_nan_fill(const File& f, hid_t dcpl, const std::string& name) {
  if constexpr (std::is_floating_point_v<T>) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    check(H5Pset_fill_value(dcpl, memory_type<T>(), &nan), f.path, "cannot set fill value of", dataset_desc(name));
  }
}

// An empty, chunked dataset that grows along its first axis: 1-D when cols is empty, else R × cols.
template <class T>
void create_growing_dataset(const File& f, const std::string& name, std::optional<hsize_t> cols) {
  const std::string desc = dataset_desc(name);
  // Chunks of up to 256 rows and at most ~64 KiB keep a short run small and a long run cheap.
  const hsize_t width = cols.value_or(1);
  const hsize_t rows_per_chunk = std::clamp<hsize_t>((64 * 1024) / (width * sizeof(T)), 1, 256);
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{rows_per_chunk};
  if (cols) {
    dims.push_back(*cols);
    max_dims.push_back(*cols);
    chunk.push_back(*cols);
  }
  const int rank = static_cast<int>(dims.size());
  Handle space = own(H5Screate_simple(rank, dims.data(), max_dims.data()), H5Sclose, f.path,
                     "cannot create dataspace for", desc);
  Handle dcpl = own(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, f.path, "cannot create properties for", desc);
  check(H5Pset_chunk(dcpl.get(), rank, chunk.data()), f.path, "cannot set chunking of", desc);
  set_nan_fill<T>(f, dcpl.get(), name);
  Handle dset = own(H5Dcreate2(f.id(), name.c_str(), file_type<T>(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                    H5Dclose, f.path, "cannot create", desc);
}

// A dataset of exactly `shape` (contiguous: written once, read whole). Empty shape = scalar.
Handle create_fixed_float_dataset(const File& f, const std::string& name, const std::vector<hsize_t>& shape) {
  const std::string desc = dataset_desc(name);
  hid_t space_id = shape.empty() ? H5Screate(H5S_SCALAR)
                                 : H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr);
  Handle space = own(space_id, H5Sclose, f.path, "cannot create dataspace for", desc);
  return own(H5Dcreate2(f.id(), name.c_str(), file_type<float>(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose, f.path, "cannot create", desc);
}

// Writes `count` elements at `start` (a hyperslab of the same rank as the dataset).
template <class T>
void write_block(const File& f, hid_t dset, const std::string& name, const std::vector<hsize_t>& start,
                 const std::vector<hsize_t>& count, const T* data) {
  const std::string desc = dataset_desc(name);
  Handle file_space = own(H5Dget_space(dset), H5Sclose, f.path, "cannot get the dataspace of", desc);
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), f.path,
        "cannot select in", desc);
  Handle mem_space = own(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose, f.path,
                         "cannot create dataspace for", desc);
  check(H5Dwrite(dset, memory_type<T>(), mem_space.get(), file_space.get(), H5P_DEFAULT, data), f.path,
        "cannot write", desc);
}

template <class T>
void write_whole(const File& f, hid_t dset, const std::string& name, const T* data, size_t count) {
  if (count == 0) return;  // nothing to write; HDF5 would reject a null buffer
  check(H5Dwrite(dset, memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), f.path, "cannot write",
        dataset_desc(name));
}

size_t element_count(const std::vector<hsize_t>& dims) {
  size_t n = 1;
  for (hsize_t d : dims) n *= static_cast<size_t>(d);
  return n;
}

// The whole dataset, flattened in row-major order, and its shape.
template <class T>
std::pair<std::vector<T>, std::vector<hsize_t>> read_whole(const File& f, hid_t dset, const std::string& name) {
  const std::string desc = dataset_desc(name);
  Handle type = own(H5Dget_type(dset), H5Tclose, f.path, "cannot get the type of", desc);
  check_type_class<T>(f, type.get(), desc);
  std::vector<hsize_t> dims = extent(f, dset, name);
  std::vector<T> values(element_count(dims));
  if (!values.empty())
    check(H5Dread(dset, memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), f.path, "cannot read", desc);
  return {std::move(values), std::move(dims)};
}

template <class T>
std::vector<T> read_vector(const File& f, const std::string& name) {
  Handle dset = open_dataset(f, name);
  auto [values, dims] = read_whole<T>(f, dset.get(), name);
  if (dims.size() != 1) fail(f.path, "expected a 1-D", dataset_desc(name));
  return values;
}

template <class T>
std::vector<std::vector<T>> read_matrix(const File& f, const std::string& name, hsize_t cols) {
  Handle dset = open_dataset(f, name);
  auto [values, dims] = read_whole<T>(f, dset.get(), name);
  if (dims.size() != 2 || dims[1] != cols)
    fail(f.path, "expected " + std::to_string(cols) + " columns in", dataset_desc(name));
  std::vector<std::vector<T>> rows(dims[0]);
  for (size_t r = 0; r < rows.size(); ++r)
    rows[r].assign(values.begin() + static_cast<ptrdiff_t>(r * cols), values.begin() + static_cast<ptrdiff_t>((r + 1) * cols));
  return rows;
}

// ---- metrics layout ----------------------------------------------------------------------------
// Every per-round dataset is listed once here; create, resume, append and read walk these lists,
// so they cannot disagree about the layout.

constexpr const char* kEvalLoss = "/rounds/eval_loss";  // R + 1 entries

template <class T>
struct RoundColumn {  // one value per round
  using value_type = T;
  const char* name;
  T RoundRecord::*in;
  std::vector<T> MetricsData::*out;
};
constexpr RoundColumn<double> kDoubleColumns[] = {
    {"/rounds/train_loss", &RoundRecord::train_loss, &MetricsData::train_loss},
    {"/rounds/rouge_l", &RoundRecord::rouge_l, &MetricsData::rouge_l},
    {"/rounds/time_local", &RoundRecord::time_local, &MetricsData::time_local},
    {"/rounds/time_project", &RoundRecord::time_project, &MetricsData::time_project},
    {"/rounds/time_comm", &RoundRecord::time_comm, &MetricsData::time_comm},
    {"/rounds/time_reconstruct", &RoundRecord::time_reconstruct, &MetricsData::time_reconstruct},
    {"/rounds/time_round", &RoundRecord::time_round, &MetricsData::time_round},
    {"/rounds/time_eval", &RoundRecord::time_eval, &MetricsData::time_eval},
    {"/rounds/time_wait", &RoundRecord::time_wait, &MetricsData::time_wait},
};
constexpr RoundColumn<uint64_t> kU64Columns[] = {
    {"/rounds/bytes_up", &RoundRecord::bytes_up, &MetricsData::bytes_up},
    {"/rounds/bytes_down", &RoundRecord::bytes_down, &MetricsData::bytes_down},
    {"/rounds/bytes_control", &RoundRecord::bytes_control, &MetricsData::bytes_control},
};
constexpr RoundColumn<int32_t> kI32Columns[] = {
    {"/rounds/participants", &RoundRecord::participants, &MetricsData::participants},
    {"/rounds/senders", &RoundRecord::senders, &MetricsData::senders},
};

template <class T>
struct RowColumn {  // one row of `width` values per round; no dataset when width is 0
  using value_type = T;
  const char* name;
  std::vector<T> RoundRecord::*in;
  std::vector<std::vector<T>> MetricsData::*out;
  int64_t RunAttributes::*width;
};
constexpr RowColumn<float> kFloatRowColumns[] = {
    {"/coefficients", &RoundRecord::coefficients, &MetricsData::coefficients, &RunAttributes::k},
    {"/clients/train_loss", &RoundRecord::client_train_loss, &MetricsData::client_train_loss,
     &RunAttributes::num_clients},
};
constexpr RowColumn<int32_t> kI32RowColumns[] = {
    {"/allocation", &RoundRecord::allocation, &MetricsData::allocation, &RunAttributes::num_blocks},
};

template <class F>
void for_each_round_column(F&& f) {
  for (const auto& c : kDoubleColumns) f(c);
  for (const auto& c : kU64Columns) f(c);
  for (const auto& c : kI32Columns) f(c);
}

template <class F>
void for_each_row_column(F&& f) {
  for (const auto& c : kFloatRowColumns) f(c);
  for (const auto& c : kI32RowColumns) f(c);
}

struct IntAttribute {
  const char* name;
  int64_t RunAttributes::*field;
};
constexpr IntAttribute kIntAttributes[] = {
    {"k", &RunAttributes::k},           {"num_clients", &RunAttributes::num_clients},
    {"ranks", &RunAttributes::ranks},   {"rounds", &RunAttributes::rounds},
    {"seed", &RunAttributes::seed},     {"num_params", &RunAttributes::num_params},
    {"num_blocks", &RunAttributes::num_blocks},
};
struct StringAttribute {
  const char* name;
  std::string RunAttributes::*field;
};
constexpr StringAttribute kStringAttributes[] = {
    {"algorithm", &RunAttributes::algorithm},
    {"config", &RunAttributes::config},
    {"version", &RunAttributes::version},
};

// Bumped whenever the metrics layout changes; readers refuse other versions instead of misreading.
constexpr int64_t kMetricsSchemaVersion = 3;  // 2: /rounds/time_eval; 3: /rounds/time_wait

void write_run_attributes(const File& f, const RunAttributes& attrs) {
  Handle root = open_group(f, "/");
  write_attr<int64_t>(f, root.get(), "/", "schema_version", kMetricsSchemaVersion);
  for (const auto& a : kStringAttributes) write_string_attr(f, root.get(), "/", a.name, attrs.*a.field);
  for (const auto& a : kIntAttributes) write_attr<int64_t>(f, root.get(), "/", a.name, attrs.*a.field);
}

RunAttributes read_run_attributes(const File& f) {
  Handle root = open_group(f, "/");
  const int64_t schema = read_attr<int64_t>(f, root.get(), "/", "schema_version");
  if (schema != kMetricsSchemaVersion)
    fail(f.path, "unsupported", attr_desc("/", "schema_version"),
         "version " + std::to_string(schema) + " (this ferret reads " + std::to_string(kMetricsSchemaVersion) + ")");
  RunAttributes attrs;
  for (const auto& a : kStringAttributes) attrs.*a.field = read_string_attr(f, root.get(), "/", a.name);
  for (const auto& a : kIntAttributes) attrs.*a.field = read_attr<int64_t>(f, root.get(), "/", a.name);
  return attrs;
}

void check_widths_not_negative(const std::string& path, const RunAttributes& attrs) {
  for_each_row_column([&](const auto& c) {
    if (attrs.*c.width < 0) fail(path, "cannot create", dataset_desc(c.name), "negative width");
  });
}

void create_metrics_layout(const File& f, const RunAttributes& attrs) {
  write_run_attributes(f, attrs);
  create_group(f, "/rounds");
  create_group(f, "/clients");
  create_growing_dataset<double>(f, kEvalLoss, std::nullopt);
  for_each_round_column([&](const auto& c) {
    create_growing_dataset<typename std::remove_cvref_t<decltype(c)>::value_type>(f, c.name, std::nullopt);
  });
  for_each_row_column([&](const auto& c) {
    using T = typename std::remove_cvref_t<decltype(c)>::value_type;
    if (attrs.*c.width > 0) create_growing_dataset<T>(f, c.name, static_cast<hsize_t>(attrs.*c.width));
  });
}

// The file's attribute must equal this run's: they fix the dataset shapes (or the meaning of them).
void check_resume_attributes(const std::string& path, const RunAttributes& stored, const RunAttributes& run) {
  auto mismatch = [&](const std::string& name, const std::string& in_file, const std::string& in_run) {
    fail(path, "cannot resume", "", "attribute '" + name + "' is " + in_file + " in the file but " + in_run + " in this run");
  };
  if (stored.algorithm != run.algorithm) mismatch("algorithm", "'" + stored.algorithm + "'", "'" + run.algorithm + "'");
  const IntAttribute fixed[] = {{"k", &RunAttributes::k},
                                {"num_clients", &RunAttributes::num_clients},
                                {"num_blocks", &RunAttributes::num_blocks},
                                {"num_params", &RunAttributes::num_params}};
  for (const auto& a : fixed)
    if (stored.*a.field != run.*a.field) mismatch(a.name, std::to_string(stored.*a.field), std::to_string(run.*a.field));
}

// A planned truncation: checked for every dataset before any is changed.
struct Truncation {
  std::string name;
  std::vector<hsize_t> dims;
};

Truncation plan_truncation(const File& f, const std::string& name, hsize_t keep_rows, std::optional<hsize_t> cols,
                           int64_t completed_rounds) {
  Handle dset = open_dataset(f, name);
  std::vector<hsize_t> dims = extent(f, dset.get(), name);
  if (dims.size() != (cols ? 2u : 1u) || (cols && dims[1] != *cols))
    fail(f.path, "cannot resume", dataset_desc(name), "shape does not match the run's attributes");
  if (dims[0] < keep_rows)
    fail(f.path, "cannot resume", dataset_desc(name),
         "holds " + std::to_string(dims[0]) + " entries but " + std::to_string(completed_rounds) +
             " completed rounds need " + std::to_string(keep_rows));
  dims[0] = keep_rows;
  return {name, dims};
}

std::vector<Truncation> plan_resume(const File& f, const RunAttributes& attrs, int64_t completed_rounds) {
  const auto rounds = static_cast<hsize_t>(completed_rounds);
  std::vector<Truncation> plan;
  // eval_loss[0] may be missing only when no round completed (the job died before evaluating).
  Handle eval = open_dataset(f, kEvalLoss);
  const hsize_t eval_entries = extent(f, eval.get(), kEvalLoss).at(0);
  const hsize_t eval_keep = completed_rounds == 0 ? std::min<hsize_t>(eval_entries, 1) : rounds + 1;
  plan.push_back(plan_truncation(f, kEvalLoss, eval_keep, std::nullopt, completed_rounds));
  for_each_round_column([&](const auto& c) {
    plan.push_back(plan_truncation(f, c.name, rounds, std::nullopt, completed_rounds));
  });
  for_each_row_column([&](const auto& c) {
    if (attrs.*c.width > 0)
      plan.push_back(plan_truncation(f, c.name, rounds, static_cast<hsize_t>(attrs.*c.width), completed_rounds));
  });
  return plan;
}

void apply_truncations(const File& f, const std::vector<Truncation>& plan) {
  for (const auto& t : plan) {
    Handle dset = open_dataset(f, t.name);
    set_extent(f, dset.get(), t.name, t.dims);
  }
}

// Grows a per-round dataset to `row + 1` rows and writes row `row`.
template <class T>
void write_row(const File& f, const std::string& name, hsize_t row, const std::vector<T>& values) {
  Handle dset = open_dataset(f, name);
  const hsize_t cols = values.size();
  set_extent(f, dset.get(), name, {row + 1, cols});
  write_block<T>(f, dset.get(), name, {row, 0}, {1, cols}, values.data());
}

template <class T>
void write_entry(const File& f, const std::string& name, hsize_t index, T value) {
  Handle dset = open_dataset(f, name);
  set_extent(f, dset.get(), name, {index + 1});
  write_block<T>(f, dset.get(), name, {index}, {1}, &value);
}

void check_round_widths(const std::string& path, const RunAttributes& attrs, const RoundRecord& round, int64_t index) {
  for_each_row_column([&](const auto& c) {
    const size_t have = (round.*c.in).size();
    if (have != static_cast<size_t>(attrs.*c.width))
      fail(path, "cannot append round " + std::to_string(index) + " to", dataset_desc(c.name),
           std::to_string(have) + " values given, the file's rows have " + std::to_string(attrs.*c.width));
  });
}

// ---- checksums ---------------------------------------------------------------------------------

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// splitmix64's finaliser: a bijection that spreads every input bit over the output. FNV's
// multiply only carries bits upward, so lanes and tensors are combined through this.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

uint64_t checksum_server_state(const std::vector<float>& momentum, const std::vector<float>& extra) {
  return mix64(mix64(kFnvOffset ^ checksum_floats(momentum)) ^ checksum_floats(extra));
}

// ---- checkpoint layout -------------------------------------------------------------------------

const std::string kParamsGroup = "/params";
const std::string kMomentum = "/server/momentum";
const std::string kExtra = "/server/extra";

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

// Reads a checkpoint, handing each tensor to `sink`; returns everything else. Verifies both
// checksums against the data actually read.
Checkpoint read_checkpoint_streaming(const std::string& path, const TensorSink& sink) {
  File f = open_file(path, /*writable=*/false);
  Checkpoint ckpt;
  uint64_t stored_server_checksum = 0;
  {
    Handle root = open_group(f, "/");
    const int64_t format = read_attr<int64_t>(f, root.get(), "/", "format_version");
    if (format != kCheckpointFormatVersion)
      fail(path, "unsupported", attr_desc("/", "format_version"), "version " + std::to_string(format));
    ckpt.round = read_attr<int64_t>(f, root.get(), "/", "round");
    ckpt.seed = read_attr<uint64_t>(f, root.get(), "/", "seed");
    ckpt.algorithm = read_string_attr(f, root.get(), "/", "algorithm");
    ckpt.config = read_string_attr(f, root.get(), "/", "config");
    ckpt.params_checksum = read_attr<uint64_t>(f, root.get(), "/", "params_checksum");
    stored_server_checksum = read_attr<uint64_t>(f, root.get(), "/", "server_checksum");
  }
  uint64_t params_checksum = kFnvOffset;
  const std::vector<std::string> names = param_names_in_order(f);
  for (size_t i = 0; i < names.size(); ++i) {
    TensorEntry t = read_tensor(f, names[i]);
    params_checksum = mix64(params_checksum ^ checksum_floats(t.data));
    sink(i, std::move(t));
  }
  if (params_checksum != ckpt.params_checksum)
    fail(path, "corrupt", group_desc(kParamsGroup), "data does not match the stored params_checksum");
  ckpt.server_momentum = read_vector<float>(f, kMomentum);
  ckpt.server_state_extra = read_vector<float>(f, kExtra);
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
      back.server_momentum != expected.server_momentum || back.server_state_extra != expected.server_state_extra)
    fail(path, "verification failed for", "file", "read back differs from what was written");
}

// Pushes the file's data to the disk before the rename makes it the checkpoint: otherwise a
// power loss could leave `path` naming a file whose blocks never arrived.
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

// Says plainly what HDF5 would bury in "unable to open file: name = ..., errno = 2, ...".
void check_directory_exists(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec))
    fail(path, "cannot write", "file", "directory '" + parent.string() + "' does not exist");
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

// ---- MetricsWriter -----------------------------------------------------------------------------

struct MetricsWriter::Impl {
  File file;
  RunAttributes attrs;
  int64_t rounds = 0;  // rows in the per-round datasets
};

MetricsWriter::MetricsWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsWriter::MetricsWriter(MetricsWriter&&) noexcept = default;
MetricsWriter& MetricsWriter::operator=(MetricsWriter&&) noexcept = default;
MetricsWriter::~MetricsWriter() = default;

MetricsWriter MetricsWriter::create(const std::string& path, const RunAttributes& attrs) {
  silence_hdf5_errors();
  std::error_code ec;
  if (fs::exists(path, ec)) fail(path, "cannot create", "file", "it already exists");
  check_directory_exists(path);
  check_widths_not_negative(path, attrs);
  auto impl = std::make_unique<Impl>(Impl{create_file(path, /*exclusive=*/true), attrs, 0});
  try {
    create_metrics_layout(impl->file, attrs);
    flush(impl->file);
  } catch (...) {
    impl.reset();  // close before removing the file we created
    fs::remove(path, ec);
    throw;
  }
  return MetricsWriter(std::move(impl));
}

MetricsWriter MetricsWriter::resume(const std::string& path, const RunAttributes& attrs, int64_t completed_rounds) {
  silence_hdf5_errors();
  if (completed_rounds < 0) fail(path, "cannot resume", "", "negative completed_rounds");
  File f = open_file(path, /*writable=*/true);
  check_resume_attributes(path, read_run_attributes(f), attrs);
  apply_truncations(f, plan_resume(f, attrs, completed_rounds));
  write_run_attributes(f, attrs);  // rounds, ranks, seed, config, version of the continuing run
  flush(f);
  return MetricsWriter(std::make_unique<Impl>(Impl{std::move(f), attrs, completed_rounds}));
}

void MetricsWriter::write_initial_eval_loss(double loss) {
  if (!impl_) throw std::runtime_error("h5io: MetricsWriter used after close or move");
  silence_hdf5_errors();
  const File& f = impl_->file;
  Handle dset = open_dataset(f, kEvalLoss);
  if (extent(f, dset.get(), kEvalLoss).at(0) == 0) set_extent(f, dset.get(), kEvalLoss, {1});
  write_block<double>(f, dset.get(), kEvalLoss, {0}, {1}, &loss);
  flush(f);
}

void MetricsWriter::write_initial_rouge_l(double rouge_l) {
  if (!impl_) throw std::runtime_error("h5io: MetricsWriter used after close or move");
  silence_hdf5_errors();
  const File& f = impl_->file;
  Handle root = open_group(f, "/");
  write_attr<double>(f, root.get(), "/", "initial_rouge_l", rouge_l);
  flush(f);
}

void MetricsWriter::append_round(const RoundRecord& round) {
  if (!impl_) throw std::runtime_error("h5io: MetricsWriter used after close or move");
  silence_hdf5_errors();
  const File& f = impl_->file;
  const auto row = static_cast<hsize_t>(impl_->rounds);
  check_round_widths(f.path, impl_->attrs, round, impl_->rounds);
  write_entry<double>(f, kEvalLoss, row + 1, round.eval_loss);  // entry 0 is the pre-training loss
  for_each_round_column([&](const auto& c) { write_entry(f, c.name, row, round.*c.in); });
  for_each_row_column([&](const auto& c) {
    if (impl_->attrs.*c.width > 0) write_row(f, c.name, row, round.*c.in);
  });
  flush(f);
  ++impl_->rounds;
}

int64_t MetricsWriter::rounds_written() const { return impl_ ? impl_->rounds : 0; }

const std::string& MetricsWriter::path() const {
  static const std::string none;
  return impl_ ? impl_->file.path : none;
}

void MetricsWriter::close() {
  if (!impl_) return;
  silence_hdf5_errors();
  std::unique_ptr<Impl> impl = std::move(impl_);
  flush(impl->file);
  close_file(impl->file);
}

MetricsData read_metrics(const std::string& path) {
  silence_hdf5_errors();
  File f = open_file(path, /*writable=*/false);
  MetricsData m;
  m.attrs = read_run_attributes(f);
  m.eval_loss = read_vector<double>(f, kEvalLoss);
  {
    Handle root = open_group(f, "/");
    if (H5Aexists(root.get(), "initial_rouge_l") > 0)
      m.initial_rouge_l = read_attr<double>(f, root.get(), "/", "initial_rouge_l");
  }
  for_each_round_column([&](const auto& c) {
    m.*c.out = read_vector<typename std::remove_cvref_t<decltype(c)>::value_type>(f, c.name);
  });
  const size_t rounds = m.train_loss.size();
  for_each_row_column([&](const auto& c) {
    using T = typename std::remove_cvref_t<decltype(c)>::value_type;
    const int64_t width = m.attrs.*c.width;
    m.*c.out = width > 0 ? read_matrix<T>(f, c.name, static_cast<hsize_t>(width))
                         : std::vector<std::vector<T>>(rounds);  // one empty row per round
  });
  close_file(f);
  return m;
}

// ---- checkpoints -------------------------------------------------------------------------------

uint64_t checksum_floats(std::span<const float> values) {
  // Eight independent FNV-1a lanes over 32-bit words: one multiply chain would stall on its latency.
  constexpr size_t kLanes = 8;
  uint64_t lane[kLanes];
  for (size_t j = 0; j < kLanes; ++j) lane[j] = kFnvOffset + j;
  const size_t n = values.size(), whole = n - n % kLanes;
  for (size_t i = 0; i < whole; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) lane[j] = (lane[j] ^ float_bits(values[i + j])) * kFnvPrime;
  uint64_t h = kFnvOffset;
  for (size_t i = whole; i < n; ++i) h = (h ^ float_bits(values[i])) * kFnvPrime;
  for (size_t j = 0; j < kLanes; ++j) h = mix64(h ^ lane[j]);
  return mix64(h ^ static_cast<uint64_t>(n));  // the length, so trailing zeros count
}

uint64_t checksum_params(std::span<const TensorEntry> params) {
  uint64_t h = kFnvOffset;
  for (const auto& t : params) h = mix64(h ^ checksum_floats(t.data));
  return h;
}

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
