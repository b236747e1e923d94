// defines: The host side of the GPU work split (work_split.cuh): argument checks identical to the CPU
// functions', and the segment table of one launch.
#include "work_split.cuh"

#include <cmath>
#include <stdexcept>
#include <string>

namespace ferret::cuda_detail {
namespace {

std::string str(uint64_t v) { return std::to_string(v); }

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Project's split of one block: chunks of whole tiles, at most kMaxChunksPerBlock of them.
void split_into_chunks(Segment& s, uint64_t tiles) {
  const uint64_t chunks_wanted = std::min(tiles, kMaxChunksPerBlock);
  s.tiles_per_chunk = ceil_div(tiles, chunks_wanted);
  s.chunks = static_cast<uint32_t>(ceil_div(tiles, s.tiles_per_chunk));
  s.k_ranges = static_cast<uint32_t>(ceil_div(s.k, kKRange));
}

}  // namespace

uint32_t unit_coords(Basis basis) {
  return basis == Basis::rademacher ? Unit<Basis::rademacher>::kCoords : Unit<Basis::gaussian>::kCoords;
}

BasisKey basis_key(Basis basis, uint64_t seed, uint32_t round, uint32_t block, uint64_t block_size) {
  (void)BasisGenerator(basis, seed, round, block, block_size);  // validates block_size like the CPU
  const uint64_t key = splitmix64(seed);
  float trunc_scale = 0.0f;
  if (basis == Basis::truncnormal) {  // exactly random/basis.cpp's expression, so the same float
    const double a = 1.0 / std::sqrt(static_cast<double>(block_size));
    trunc_scale = static_cast<float>(std::erf(a / std::sqrt(2.0)));
  }
  return {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32), round, block, trunc_scale};
}

void check_fill_range(Basis basis, uint64_t j0, uint64_t n, uint64_t block_size) {
  (void)BasisGenerator(basis, 0, 0, 0, block_size);
  if (j0 > block_size || n > block_size - j0)
    throw std::invalid_argument("fill_basis: range [" + str(j0) + ", " + str(j0 + n) +
                                ") leaves the block; allowed within [0, block_size = " + str(block_size) + ")");
}

std::vector<Segment> make_segments(Kernel kernel, const ProjectionSpec& spec, std::span<const Block> blocks,
                                   std::span<const uint32_t> k_per_block, uint64_t vector_size, uint64_t gamma_size,
                                   const char* what, const char* vector_name, uint32_t* ctas, uint64_t* partials) {
  check_blocks(blocks, vector_size, what, vector_name);
  gamma_offsets(blocks, k_per_block, gamma_size, what);  // projection.cpp's checks: the same messages
  const uint64_t coords = unit_coords(spec.basis);
  std::vector<Segment> segments(blocks.size());
  uint64_t cta = 0, gamma_at = 0, partial_at = 0;
  for (size_t l = 0; l < blocks.size(); ++l) {
    Segment& s = segments[l];
    s = Segment{};
    s.offset = blocks[l].offset;
    s.size = blocks[l].size;
    s.k = k_per_block[l];
    s.gamma_at = gamma_at;
    s.key = basis_key(spec.basis, spec.seed, spec.round, static_cast<uint32_t>(l), s.size);
    s.scale = 1.0 / (static_cast<double>(s.k) * basis_variance(spec.basis, s.size));  // as project
    s.first_cta = static_cast<uint32_t>(cta);
    s.tiles = ceil_div(ceil_div(s.size, coords), kThreads);
    if (kernel == Kernel::project) {
      split_into_chunks(s, s.tiles);
      s.partial_at = partial_at;
      partial_at += static_cast<uint64_t>(s.chunks) * s.k;
      cta += static_cast<uint64_t>(s.chunks) * s.k_ranges;
    } else {
      cta += s.tiles;  // reconstruct: one CUDA block per tile
    }
    if (cta > INT32_MAX)
      throw std::invalid_argument(std::string(what) + ": " + str(vector_size) + " coordinates need more than 2^31 - 1 "
                                  "CUDA blocks; split the call");
    gamma_at += s.k;
  }
  *ctas = static_cast<uint32_t>(cta);
  if (partials) *partials = partial_at;
  return segments;
}

}  // namespace ferret::cuda_detail
