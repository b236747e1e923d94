// defines: h5::Handle, h5::File and the low-level HDF5 helpers (errors, files, groups,
//          attributes, datasets) that metrics_file.cpp and checkpoint_file.cpp are built from
//
// Internal to io/: the only header of ferret that includes <hdf5.h>. The file-format headers
// (metrics_file.hpp, checkpoint_file.hpp) say *what* is stored; this one is *how* a value gets
// there, once, so both files share one error style and one set of on-disk types:
//   - every failure throws std::runtime_error with one line, "h5io: <action> '<file>' <object>:
//     <detail>", the detail being HDF5's innermost reason when HDF5 failed;
//   - every identifier is owned by a Handle, so an early throw closes what was opened;
//   - numbers are stored little-endian (H5T_IEEE_F64LE, H5T_STD_I64LE, ...) whatever the machine,
//     strings as variable-length UTF-8.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferret::h5 {

// ---- errors ------------------------------------------------------------------------------------

// HDF5 prints its whole error stack to stderr by default; users should see only our one line.
// Called at every public entry point because the setting is per thread in a thread-safe build.
void silence_hdf5_errors();

// "h5io: <action> '<file>' <object>: <detail>" — one line, naming the file and the object.
[[noreturn]] void fail(const std::string& file, const std::string& action, const std::string& object,
                       const std::string& detail = {});
// Like fail(), with HDF5's own innermost reason as the detail. Must run right after the failing call.
[[noreturn]] void fail_hdf5(const std::string& file, const std::string& action, const std::string& object);
void check(herr_t status, const std::string& file, const std::string& action, const std::string& object);

std::string dataset_desc(const std::string& name);
std::string group_desc(const std::string& name);
std::string attr_desc(const std::string& object, const std::string& attr);

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

// Takes ownership of `id`, or throws (naming `object`) when the call that made it failed.
Handle own(hid_t id, Handle::Closer closer, const std::string& file, const std::string& action,
           const std::string& object);

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

// exclusive: fail if `path` exists; otherwise truncate it.
File create_file(const std::string& path, bool exclusive);
// Refuses, with a plain reason, a missing path, a non-regular file and a file that is not HDF5.
File open_file(const std::string& path, bool writable);
void flush(const File& f);
void close_file(File& f);  // throws when the close fails (buffered writes land here)
// Says plainly what HDF5 would bury in "unable to open file: name = ..., errno = 2, ...".
void check_directory_exists(const std::string& path);

// ---- groups and links --------------------------------------------------------------------------

bool link_exists(const File& f, const std::string& name);
Handle create_group(const File& f, const std::string& name);
Handle open_group(const File& f, const std::string& name);    // "missing group '...'" when absent
Handle open_dataset(const File& f, const std::string& name);  // "missing dataset '...'" when absent
// Names of the links in a group, sorted by name (HDF5's name index).
std::vector<std::string> link_names(const File& f, hid_t group, const std::string& group_name);

// ---- attributes --------------------------------------------------------------------------------
// Every attribute is a scalar. Writing one replaces any attribute of that name (delete, then
// create), so a string may change length.

void delete_attr_if_present(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr);
Handle open_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr);
// Names of the attributes of `obj`, sorted by name.
std::vector<std::string> attr_names(const File& f, hid_t obj, const std::string& obj_name);

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

// Written as variable-length UTF-8 (h5py reads it back as str, any length fits); a text with a
// NUL byte is refused, since a C string would end there. Fixed-length strings are read too.
void write_string_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr,
                       const std::string& value);
std::string read_string_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& attr);

// ---- datasets ----------------------------------------------------------------------------------

std::vector<hsize_t> extent(const File& f, hid_t dset, const std::string& name);
void set_extent(const File& f, hid_t dset, const std::string& name, const std::vector<hsize_t>& dims);

// A float dataset whose unwritten entries read as NaN, not as a plausible 0.
template <class T>
void set_nan_fill(const File& f, hid_t dcpl, const std::string& name) {
  if constexpr (std::is_floating_point_v<T>) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    check(H5Pset_fill_value(dcpl, memory_type<T>(), &nan), f.path, "cannot set fill value of", dataset_desc(name));
  }
}

// An empty, chunked dataset that grows along its first axis: 1-D when `cols` is nullopt, else
// R × cols (cols fixed).
template <class T>
void create_growing_dataset(const File& f, const std::string& name, std::optional<hsize_t> cols) {
  const std::string desc = dataset_desc(name);
  // Chunks of up to 256 rows and about 64 KiB (a single row when one row is larger) keep a short
  // run's file small and a long run's appends cheap.
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

// A float32 dataset of exactly `shape` (contiguous: written once, read whole). Empty shape = scalar.
Handle create_fixed_float_dataset(const File& f, const std::string& name, const std::vector<hsize_t>& shape);
Handle create_fixed_double_dataset(const File& f, const std::string& name, const std::vector<hsize_t>& shape);

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

size_t element_count(const std::vector<hsize_t>& dims);

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

}  // namespace ferret::h5
