// defines: the non-template HDF5 helpers declared in h5_handle.hpp (errors, files, groups,
//          attributes, strings, datasets)
//
// Kept out of the header so that only the templates, which must be there, are compiled into
// every io/ source; the file-access settings below are the one place the on-disk format version
// is chosen.
#include "io/h5_handle.hpp"

#include <filesystem>
#include <stdexcept>

namespace ferret::h5 {
namespace {

namespace fs = std::filesystem;

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

// Variable-length UTF-8 string type: h5py reads it back as str, and any length fits.
Handle vlen_string_type(const File& f, const std::string& desc) {
  Handle type = own(H5Tcopy(H5T_C_S1), H5Tclose, f.path, "cannot create string type for", desc);
  check(H5Tset_size(type.get(), H5T_VARIABLE), f.path, "cannot create string type for", desc);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), f.path, "cannot create string type for", desc);
  return type;
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

}  // namespace

// ---- errors ------------------------------------------------------------------------------------

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void fail(const std::string& file, const std::string& action, const std::string& object, const std::string& detail) {
  std::string msg = "h5io: " + action + " '" + file + "'";
  if (!object.empty()) msg += " " + object;
  if (!detail.empty()) msg += ": " + detail;
  throw std::runtime_error(msg);
}

void fail_hdf5(const std::string& file, const std::string& action, const std::string& object) {
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

Handle own(hid_t id, Handle::Closer closer, const std::string& file, const std::string& action,
           const std::string& object) {
  if (id < 0) fail_hdf5(file, action, object);
  return Handle(id, closer);
}

// ---- files -------------------------------------------------------------------------------------

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

void check_directory_exists(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec))
    fail(path, "cannot write", "file", "directory '" + parent.string() + "' does not exist");
}

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

namespace {
extern "C" herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> attr_names(const File& f, hid_t obj, const std::string& obj_name) {
  std::vector<std::string> names;
  hsize_t index = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &index, collect_attr_name, &names), f.path,
        "cannot list the attributes of", obj_name);
  return names;
}

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

namespace {

Handle create_fixed_dataset(const File& f, const std::string& name, const std::vector<hsize_t>& shape, hid_t type) {
  const std::string desc = dataset_desc(name);
  hid_t space_id = shape.empty() ? H5Screate(H5S_SCALAR)
                                 : H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr);
  Handle space = own(space_id, H5Sclose, f.path, "cannot create dataspace for", desc);
  return own(H5Dcreate2(f.id(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
             f.path, "cannot create", desc);
}

}  // namespace

Handle create_fixed_float_dataset(const File& f, const std::string& name, const std::vector<hsize_t>& shape) {
  return create_fixed_dataset(f, name, shape, file_type<float>());
}

Handle create_fixed_double_dataset(const File& f, const std::string& name, const std::vector<hsize_t>& shape) {
  return create_fixed_dataset(f, name, shape, file_type<double>());
}

size_t element_count(const std::vector<hsize_t>& dims) {
  size_t n = 1;
  for (hsize_t d : dims) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace ferret::h5
