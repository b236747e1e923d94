// defines: dense_basis — the test reference V_l of one block as a dense matrix
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "projection/projection.hpp"
#include "random/basis.hpp"

namespace ferret {

// V_l of block `block_index` as a dense d_l × k_l column-major matrix (column k = v_k), built
// with fill_basis one column at a time: what the fused kernels must equal.
inline std::vector<float> dense_basis(const ProjectionSpec& spec, const Block& block, uint32_t block_index, uint32_t k_l) {
  std::vector<float> v(block.size * k_l);
  for (uint32_t k = 0; k < k_l; ++k)
    fill_basis(spec.basis, spec.seed, spec.round, block_index, k, 0, block.size,
               std::span<float>(v).subspan(k * block.size, block.size));
  return v;
}

}  // namespace ferret
