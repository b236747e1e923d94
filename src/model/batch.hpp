// defines: Batch, collate — encoded examples → padded (B, T) token and loss-mask tensors
#pragma once

#include <torch/torch.h>

#include <span>
#include <vector>

#include "data/example.hpp"
#include "data/tokenizer.hpp"

namespace ferret {

struct Batch {
  torch::Tensor tokens;  // (B, T) int64, right-padded with id 0
  torch::Tensor mask;    // (B, T) uint8, 1 where the token is a loss target
};

inline Batch collate(const std::vector<EncodedExample>& examples, std::span<const int64_t> indices) {
  size_t T = 0;
  for (int64_t i : indices) T = std::max(T, examples[i].tokens.size());
  const int64_t B = static_cast<int64_t>(indices.size());
  // Padding id 0 is valid in every vocabulary; pads are never targets and, right of the causal window, never attended.
  Batch b{torch::full({B, static_cast<int64_t>(T)}, 0, torch::kInt64),
          torch::zeros({B, static_cast<int64_t>(T)}, torch::kUInt8)};
  auto tok = b.tokens.accessor<int64_t, 2>();
  auto msk = b.mask.accessor<uint8_t, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const auto& ex = examples[indices[r]];
    for (size_t t = 0; t < ex.tokens.size(); ++t) {
      tok[r][t] = ex.tokens[t];
      msk[r][t] = ex.loss_mask[t];
    }
  }
  return b;
}

}  // namespace ferret
