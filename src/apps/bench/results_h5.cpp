// defines: the implementation of results_h5.hpp
#include "results_h5.hpp"

#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace ferret::bench {
namespace {

// Closes an HDF5 id with the matching function when it leaves scope.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t), const std::string& what) : id_(id), close_(close) {
    if (id < 0) throw std::runtime_error("HDF5: cannot " + what);
  }
  Id(Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id& operator=(Id&&) = delete;
  operator hid_t() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5: cannot " + what);
}

Id string_type() {
  Id t(H5Tcopy(H5T_C_S1), H5Tclose, "copy the string type");
  check(H5Tset_size(t, H5T_VARIABLE), "make a variable-length string type");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "set UTF-8");
  return t;
}

void write_column(hid_t group, const std::string& name, const Column& column) {
  const auto n = static_cast<hsize_t>(std::visit([](const auto& v) { return v.size(); }, column));
  Id space(H5Screate_simple(1, &n, nullptr), H5Sclose, "create a dataspace for " + name);
  if (const auto* numbers = std::get_if<std::vector<double>>(&column)) {
    Id d(H5Dcreate2(group, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
         "create dataset " + name);
    check(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, numbers->data()), "write " + name);
    return;
  }
  const auto& strings = std::get<std::vector<std::string>>(column);
  std::vector<const char*> ptrs;
  for (const auto& s : strings) ptrs.push_back(s.c_str());
  Id type = string_type();
  Id d(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
       "create dataset " + name);
  check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "write " + name);
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value) {
  Id type = string_type();
  Id space(H5Screate(H5S_SCALAR), H5Sclose, "create a scalar dataspace");
  Id a(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, "create attribute " + name);
  const char* p = value.c_str();
  check(H5Awrite(a, type, &p), "write attribute " + name);
}

}  // namespace

void write_results(const std::string& path, const std::vector<Table>& tables,
                   const std::map<std::string, std::string>& attributes) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) throw std::runtime_error("'" + path + "' exists; ferret-bench never overwrites a result (pass another --out)");
  if (const auto dir = fs::path(path).parent_path(); !dir.empty()) fs::create_directories(dir);
  const std::string tmp = path + ".tmp";
  {
    Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "create " + tmp);
    for (const auto& [name, value] : attributes) write_string_attribute(file, name, value);
    for (const auto& table : tables) {
      Id group(H5Gcreate2(file, table.group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
               "create group " + table.group);
      for (const auto& [name, column] : table.columns) write_column(group, name, column);
    }
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush " + tmp);
  }
  fs::rename(tmp, path);
}

}  // namespace ferret::bench
