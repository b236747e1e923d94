// defines: Column, Table, write_results
//
// ferret-bench's HDF5 output: one group per table, one 1-D dataset per column (float64, or
// variable-length UTF-8 strings), string root attributes describing the machine and the run.
// Written to "<path>.tmp" and renamed, so a reader never sees half a file; an existing `path` is
// refused (never overwritten). analysis/plot_bench.py renders it.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace ferret::bench {

using Column = std::variant<std::vector<double>, std::vector<std::string>>;

struct Table {
  std::string group;                                  // e.g. "kernels"
  std::vector<std::pair<std::string, Column>> columns;  // equal lengths
};

void write_results(const std::string& path, const std::vector<Table>& tables,
                   const std::map<std::string, std::string>& attributes);

}  // namespace ferret::bench
