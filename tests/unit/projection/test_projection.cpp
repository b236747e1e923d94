// Blocks, K allocation, projection/reconstruction against dense references, the estimator's
// unbiasedness and variance, thread-count determinism, and argument checking.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "projection/param_kernels.hpp"
#include "random/counter_rng.hpp"
#include "projection/projection.hpp"
#include "support/dense_basis.hpp"

namespace ferret {
namespace {

constexpr Basis kAllBases[] = {Basis::rademacher, Basis::gaussian, Basis::truncnormal};

// named_parameters() order of a LLaMA decoder.
std::vector<ParamInfo> llama_params(uint64_t vocab, uint64_t hidden, uint64_t kv, uint64_t mlp, int layers, bool head) {
  std::vector<ParamInfo> p{{"embed_tokens.weight", vocab * hidden}};
  for (int l = 0; l < layers; ++l) {
    const std::string pre = "layers." + std::to_string(l) + ".";
    p.push_back({pre + "self_attn.q_proj.weight", hidden * hidden});
    p.push_back({pre + "self_attn.k_proj.weight", hidden * kv});
    p.push_back({pre + "self_attn.v_proj.weight", hidden * kv});
    p.push_back({pre + "self_attn.o_proj.weight", hidden * hidden});
    p.push_back({pre + "mlp.gate_proj.weight", hidden * mlp});
    p.push_back({pre + "mlp.up_proj.weight", hidden * mlp});
    p.push_back({pre + "mlp.down_proj.weight", mlp * hidden});
    p.push_back({pre + "input_layernorm.weight", hidden});
    p.push_back({pre + "post_attention_layernorm.weight", hidden});
  }
  p.push_back({"norm.weight", hidden});
  if (head) p.push_back({"lm_head.weight", vocab * hidden});
  return p;
}

void expect_contiguous(const std::vector<Block>& blocks, uint64_t total) {
  uint64_t offset = 0;
  for (const Block& b : blocks) {
    EXPECT_EQ(b.offset, offset) << b.name;
    offset += b.size;
  }
  EXPECT_EQ(offset, total);
}

std::vector<float> test_vector(uint64_t n, uint64_t salt) {
  std::vector<float> v(n);
  CounterRng rng(salt, 99, 0, 0);
  for (auto& x : v) x = static_cast<float>(rng.uniform() * 2.0 - 1.0) + (rng.uniform() < 0.1 ? 3.0f : 0.0f);
  return v;
}

double norm2(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s;
}

// ---- make_blocks ----

TEST(MakeBlocks, DataJuicer13BGivesThe194BlocksOfThePaper) {
  // hidden 2048, MLP 5504, 24 layers, untied head: target = 0.9 × 2048² (median is an attention matrix).
  const auto params = llama_params(32000, 2048, 2048, 5504, 24, true);
  const auto blocks = make_blocks(params);
  ASSERT_EQ(blocks.size(), 194u);
  uint64_t total = 0;
  for (const auto& p : params) total += p.numel;
  expect_contiguous(blocks, total);
  EXPECT_EQ(blocks[0].name, "embed_tokens.weight");
  for (int i = 0; i < 7; ++i) EXPECT_EQ(blocks[1 + i].name, params[1 + i].name);  // each matrix alone
  EXPECT_EQ(blocks[8].name, "layers.0.input_layernorm.weight+1");                 // the layer's two norms
  EXPECT_EQ(blocks[8].size, 2u * 2048);
  EXPECT_EQ(blocks[192].name, "layers.23.input_layernorm.weight+2");  // last norms + final norm
  EXPECT_EQ(blocks[192].size, 3u * 2048);
  EXPECT_EQ(blocks[193].name, "lm_head.weight");
}

TEST(MakeBlocks, SmallGqaModelSplitsMatricesAndMergesNorms) {
  // hidden 64, kv width 32, MLP 176, 2 layers, vocab 100, tied embeddings (no head):
  // sizes sorted: 5×64, 4×2048, 4×4096, 6400, 6×11264 -> median 4096 -> target 3686.
  const auto params = llama_params(100, 64, 32, 176, 2, false);
  const auto blocks = make_blocks(params);
  std::vector<std::string> names;
  for (const auto& b : blocks) names.push_back(b.name);
  const std::vector<std::string> expected{
      "embed_tokens.weight",
      "layers.0.self_attn.q_proj.weight", "layers.0.self_attn.k_proj.weight", "layers.0.self_attn.v_proj.weight",
      "layers.0.self_attn.o_proj.weight", "layers.0.mlp.gate_proj.weight", "layers.0.mlp.up_proj.weight",
      "layers.0.mlp.down_proj.weight", "layers.0.input_layernorm.weight+1",
      "layers.1.self_attn.q_proj.weight", "layers.1.self_attn.k_proj.weight", "layers.1.self_attn.v_proj.weight",
      "layers.1.self_attn.o_proj.weight", "layers.1.mlp.gate_proj.weight", "layers.1.mlp.up_proj.weight",
      "layers.1.mlp.down_proj.weight", "layers.1.input_layernorm.weight+2"};
  EXPECT_EQ(names, expected);
  uint64_t total = 0;
  for (const auto& p : params) total += p.numel;
  expect_contiguous(blocks, total);
  EXPECT_EQ(blocks.back().size, 3u * 64);
}

TEST(MakeBlocks, SmallTensorsMergeUpToTheTarget) {
  // sizes 10,10,10,100,100 -> median 10 -> target 9: nothing merges; with a larger median they do.
  std::vector<ParamInfo> p{{"a", 10}, {"b", 10}, {"c", 10}, {"d", 100}, {"e", 100}};
  EXPECT_EQ(make_blocks(p).size(), 5u);
  // sizes 1,1,1,100,100,100,100 -> median 100 -> target 90: a,b,c merge into "a+2".
  std::vector<ParamInfo> q{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 100}, {"e", 100}, {"f", 100}, {"g", 100}};
  const auto blocks = make_blocks(q);
  ASSERT_EQ(blocks.size(), 5u);
  EXPECT_EQ(blocks[0].name, "a+2");
  EXPECT_EQ(blocks[0].size, 3u);
  // Even count: median = mean of the middle two = (10 + 30)/2 = 20 -> target 18: 5+10 merge, 30 alone.
  std::vector<ParamInfo> r{{"x", 5}, {"y", 10}, {"z", 30}, {"w", 40}};
  const auto even = make_blocks(r);
  ASSERT_EQ(even.size(), 3u);
  EXPECT_EQ(even[0].name, "x+1");
  // Reaching the target exactly still merges (only exceeding it closes a block): target 9 = 5 + 4.
  std::vector<ParamInfo> exact{{"a", 5}, {"b", 4}, {"c", 10}, {"d", 10}, {"e", 10}};
  const auto at_target = make_blocks(exact);
  ASSERT_EQ(at_target.size(), 4u);
  EXPECT_EQ(at_target[0].name, "a+1");
  EXPECT_EQ(at_target[0].size, 9u);
  EXPECT_TRUE(make_blocks({}).empty());
  std::vector<ParamInfo> bad{{"ok", 3}, {"empty", 0}};
  EXPECT_THROW(make_blocks(bad), std::invalid_argument);
}

// ---- allocate_k ----

std::vector<Block> blocks_of_sizes(std::vector<uint64_t> sizes) {
  std::vector<Block> blocks;
  uint64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    blocks.push_back({std::string("b").append(std::to_string(i)), offset, sizes[i]});
    offset += sizes[i];
  }
  return blocks;
}

TEST(AllocateK, SumsToKAndGivesEveryBlockOne) {
  const auto blocks = blocks_of_sizes({1, 5000, 64, 64, 2'000'000, 300, 7});
  const std::vector<double> norms{0.0, 4.0, 1e-12, 9.0, 1e6, 0.5, 0.0};
  for (Allocation policy : {Allocation::uniform, Allocation::size, Allocation::norm}) {
    for (uint32_t K : {7u, 8u, 13u, 100u, 4096u, 100003u}) {
      const auto k = allocate_k(K, blocks, policy, norms);
      ASSERT_EQ(k.size(), blocks.size());
      EXPECT_EQ(std::accumulate(k.begin(), k.end(), uint64_t{0}), K) << to_string(policy) << " K=" << K;
      for (uint32_t x : k) EXPECT_GE(x, 1u);
    }
  }
}

TEST(AllocateK, SharesFollowThePolicy) {
  const auto four = blocks_of_sizes({100, 100, 100, 100});
  EXPECT_EQ(allocate_k(10, four, Allocation::uniform, {}), (std::vector<uint32_t>{3, 3, 2, 2}));
  const auto three = blocks_of_sizes({100, 300, 600});
  EXPECT_EQ(allocate_k(10, three, Allocation::size, {}), (std::vector<uint32_t>{1, 3, 6}));
  // norm: K_l ∝ ‖Δ_l‖ = √(squared norm), not ∝ the squared norm.
  const std::vector<double> sq{1, 4, 9, 16};
  EXPECT_EQ(allocate_k(100, four, Allocation::norm, sq), (std::vector<uint32_t>{10, 20, 30, 40}));
  // A block whose share is below 1 is pinned to 1 and the rest is split among the others.
  const auto lopsided = blocks_of_sizes({1, 1000, 1000});
  EXPECT_EQ(allocate_k(10, lopsided, Allocation::size, {}), (std::vector<uint32_t>{1, 5, 4}));  // tie -> lower index
  // K = L: one each.
  EXPECT_EQ(allocate_k(3, lopsided, Allocation::size, {}), (std::vector<uint32_t>{1, 1, 1}));
}

TEST(AllocateK, NormFallsBackToSizeWithoutUsableNorms) {
  const auto three = blocks_of_sizes({100, 300, 600});
  const auto by_size = allocate_k(20, three, Allocation::size, {});
  EXPECT_EQ(allocate_k(20, three, Allocation::norm, std::vector<double>{0, 0, 0}), by_size);
  EXPECT_EQ(allocate_k(20, three, Allocation::norm, std::vector<double>{1, NAN, 2}), by_size);
  EXPECT_EQ(allocate_k(20, three, Allocation::norm, std::vector<double>{1, INFINITY, 2}), by_size);
}

TEST(AllocateK, RejectsBadArguments) {
  const auto three = blocks_of_sizes({100, 300, 600});
  try {
    allocate_k(2, three, Allocation::uniform, {});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("K = 2"), std::string::npos) << what;
    EXPECT_NE(what.find("L = 3"), std::string::npos) << what;
  }
  EXPECT_THROW(allocate_k(5, {}, Allocation::uniform, {}), std::invalid_argument);
  EXPECT_THROW(allocate_k(5, three, Allocation::norm, std::vector<double>{1, 2}), std::invalid_argument);
  EXPECT_THROW(allocate_k(5, three, Allocation::norm, std::vector<double>{1, -2, 3}), std::invalid_argument);
  EXPECT_EQ(parse_allocation("norm"), Allocation::norm);
  for (Allocation a : {Allocation::uniform, Allocation::size, Allocation::norm})
    EXPECT_EQ(parse_allocation(to_string(a)), a);
  EXPECT_THROW(parse_allocation("proportional"), std::invalid_argument);
}

TEST(BlockSqNorms, MatchNaiveSums) {
  const auto blocks = blocks_of_sizes({3, 70000, 1, 600000});
  const auto delta = test_vector(670004, 1);
  const auto sq = block_sq_norms(blocks, delta);
  ASSERT_EQ(sq.size(), blocks.size());
  for (size_t l = 0; l < blocks.size(); ++l) {
    const double naive = norm2(std::span<const float>(delta).subspan(blocks[l].offset, blocks[l].size));
    EXPECT_NEAR(sq[l], naive, 1e-12 * naive) << l;
  }
}

// ---- project / reconstruct_add against dense references ----

struct Layout {
  std::vector<Block> blocks;
  std::vector<uint32_t> k;
  uint64_t length;
};

// Blocks not multiples of any group or tile, one spanning several tiles, and a gap [890, 900)
// that no block covers.
Layout mixed_layout() {
  return {{{"a", 0, 300}, {"b", 300, 517}, {"c", 817, 73}, {"d", 900, 5000}}, {3, 5, 2, 4}, 5900};
}

std::vector<double> dense_project(const ProjectionSpec& spec, const Layout& lay, const std::vector<float>& delta) {
  std::vector<double> gamma;
  for (size_t l = 0; l < lay.blocks.size(); ++l) {
    const Block& b = lay.blocks[l];
    const auto V = dense_basis(spec, b, static_cast<uint32_t>(l), lay.k[l]);
    const double c = 1.0 / (lay.k[l] * basis_variance(spec.basis, b.size));
    for (uint32_t k = 0; k < lay.k[l]; ++k) {
      double dot = 0;
      for (uint64_t j = 0; j < b.size; ++j) dot += static_cast<double>(V[k * b.size + j]) * delta[b.offset + j];
      gamma.push_back(c * dot);
    }
  }
  return gamma;
}

TEST(Project, MatchesDenseReference) {
  const Layout lay = mixed_layout();
  const auto delta = test_vector(lay.length, 2);
  for (Basis basis : kAllBases) {
    const ProjectionSpec spec{basis, 1234, 7};
    std::vector<float> gamma(14);
    project(spec, lay.blocks, lay.k, delta, gamma);
    const auto expected = dense_project(spec, lay, delta);
    double scale = 0;
    for (double g : expected) scale = std::max(scale, std::abs(g));
    for (size_t i = 0; i < gamma.size(); ++i)
      EXPECT_NEAR(gamma[i], expected[i], 1e-5 * scale) << to_string(basis) << " coefficient " << i;
  }
}

TEST(ReconstructAdd, MatchesDenseReferenceAndLeavesGapsAlone) {
  const Layout lay = mixed_layout();
  for (Basis basis : kAllBases) {
    const ProjectionSpec spec{basis, 99, 3};
    const auto gamma = test_vector(14, 3);
    const auto start = test_vector(lay.length, 4);
    std::vector<float> out = start;
    const float alpha = -0.75f;
    reconstruct_add(spec, lay.blocks, lay.k, gamma, alpha, out);

    std::vector<double> expected(start.begin(), start.end());
    size_t g = 0;
    for (size_t l = 0; l < lay.blocks.size(); ++l) {
      const Block& b = lay.blocks[l];
      const auto V = dense_basis(spec, b, static_cast<uint32_t>(l), lay.k[l]);
      for (uint32_t k = 0; k < lay.k[l]; ++k, ++g)
        for (uint64_t j = 0; j < b.size; ++j) expected[b.offset + j] += alpha * gamma[g] * static_cast<double>(V[k * b.size + j]);
    }
    for (uint64_t j = 0; j < lay.length; ++j) {
      const double tol = 1e-5 * (1.0 + std::abs(expected[j]));
      ASSERT_NEAR(out[j], expected[j], tol) << to_string(basis) << " j = " << j;
    }
    for (uint64_t j = 890; j < 900; ++j) EXPECT_EQ(out[j], start[j]);  // not in any block
  }
}

TEST(ReconstructAdd, ZeroCoefficientsAddNothing) {
  const Layout lay = mixed_layout();
  const auto start = test_vector(lay.length, 5);
  std::vector<float> out = start;
  std::vector<float> gamma(14, 0.0f);
  reconstruct_add({Basis::gaussian, 1, 1}, lay.blocks, lay.k, gamma, 1.0f, out);
  EXPECT_EQ(out, start);
}

// ---- the fused rademacher kernels follow their rounding contract (rademacher.hpp) bit for bit ----

// Blocks with partial 128-groups and partial 16-vectors, several tiles, K_l below 8 (two groups per
// Philox batch), at and above the 16-basis batch; every block has ≤ 256 tiles, so each tile is its own chunk (projection.cpp).
Layout rademacher_layout() {
  return {{{"a", 0, 77}, {"b", 77, 4096 * 3 + 200}, {"c", 4096 * 3 + 277, 128}, {"d", 4096 * 3 + 405, 9000}},
          {17, 5, 16, 40},
          4096 * 3 + 9405};
}

TEST(RademacherKernels, ReconstructFollowsTheRoundingContract) {
  const Layout lay = rademacher_layout();
  const ProjectionSpec spec{Basis::rademacher, 77, 4};
  const uint32_t total_k = std::accumulate(lay.k.begin(), lay.k.end(), 0u);
  auto gamma = test_vector(total_k, 21);
  gamma[1] = 0.0f, gamma[20] = 0.0f, gamma[50] = -0.0f;  // skipped
  const auto start = test_vector(lay.length, 22);
  const float alpha = 0.3f;
  std::vector<float> out = start;
  reconstruct_add(spec, lay.blocks, lay.k, gamma, alpha, out);

  std::vector<float> expected = start;
  size_t g0 = 0;
  for (size_t l = 0; l < lay.blocks.size(); ++l) {
    const Block& b = lay.blocks[l];
    const auto V = dense_basis(spec, b, static_cast<uint32_t>(l), lay.k[l]);
    float sum = 0.0f;
    for (uint32_t k = 0; k < lay.k[l]; ++k) sum += gamma[g0 + k];
    for (uint64_t j = 0; j < b.size; ++j) {
      float acc = sum;
      for (uint32_t k = 0; k < lay.k[l]; ++k)
        if (gamma[g0 + k] != 0.0f && V[k * b.size + j] < 0.0f) acc -= 2.0f * gamma[g0 + k];
      expected[b.offset + j] = std::fma(alpha, acc, expected[b.offset + j]);
    }
    g0 += lay.k[l];
  }
  for (uint64_t j = 0; j < lay.length; ++j) ASSERT_EQ(out[j], expected[j]) << "j = " << j;
}

TEST(RademacherKernels, ProjectFollowsTheRoundingContract) {
  const Layout lay = rademacher_layout();
  const ProjectionSpec spec{Basis::rademacher, 78, 5};
  const uint32_t total_k = std::accumulate(lay.k.begin(), lay.k.end(), 0u);
  const auto delta = test_vector(lay.length, 23);
  std::vector<float> gamma(total_k);
  project(spec, lay.blocks, lay.k, delta, gamma);

  size_t g0 = 0;
  for (size_t l = 0; l < lay.blocks.size(); ++l) {
    const Block& b = lay.blocks[l];
    const auto V = dense_basis(spec, b, static_cast<uint32_t>(l), lay.k[l]);
    for (uint32_t k = 0; k < lay.k[l]; ++k) {
      double sum = 0.0;  // over tiles (= chunks here), in order
      for (uint64_t tile = 0; tile < b.size; tile += 4096) {
        float lanes_t[16] = {}, lanes_m[16] = {};
        for (uint64_t j = tile; j < std::min(b.size, tile + 4096); ++j) {
          const float x = delta[b.offset + j];
          lanes_t[(j - tile) % 16] += x;
          if (V[k * b.size + j] < 0.0f) lanes_m[(j - tile) % 16] += x;
        }
        double t = 0.0, m = 0.0;
        for (int lane = 0; lane < 16; ++lane) t += lanes_t[lane], m += lanes_m[lane];
        sum += t - 2.0 * m;
      }
      const float expected = static_cast<float>(1.0 / lay.k[l] * sum);
      EXPECT_EQ(gamma[g0 + k], expected) << "block " << l << " k " << k;
    }
    g0 += lay.k[l];
  }
}

TEST(DenseBasis, ColumnsAreFillBasisVectors) {
  const Block b{"x", 10, 200};
  const ProjectionSpec spec{Basis::gaussian, 5, 2};
  const auto V = dense_basis(spec, b, 3, 4);
  ASSERT_EQ(V.size(), 800u);
  std::vector<float> column(200);
  fill_basis(Basis::gaussian, 5, 2, 3, 2, 0, 200, column);
  EXPECT_TRUE(std::equal(column.begin(), column.end(), V.begin() + 400));
}

// ---- statistical properties of the estimator Δ̃ = V γ ----

// Mean of R reconstructions (rounds 1..R give independent bases) of one Δ; returns the relative
// errors ‖mean − Δ‖/‖Δ‖ after R/4 and after R rounds.
std::pair<double, double> mean_reconstruction_error(Basis basis, const Layout& lay, const std::vector<float>& delta,
                                                    uint32_t rounds) {
  const uint64_t total_k = std::accumulate(lay.k.begin(), lay.k.end(), uint64_t{0});
  std::vector<float> gamma(total_k), early(lay.length, 0.0f), late(lay.length, 0.0f);
  for (uint32_t r = 1; r <= rounds; ++r) {
    const ProjectionSpec spec{basis, 2024, r};
    project(spec, lay.blocks, lay.k, delta, gamma);
    if (r <= rounds / 4) reconstruct_add(spec, lay.blocks, lay.k, gamma, 4.0f / rounds, early);
    reconstruct_add(spec, lay.blocks, lay.k, gamma, 1.0f / rounds, late);
  }
  const auto error = [&](const std::vector<float>& mean) {
    double e = 0;
    for (uint64_t j = 0; j < lay.length; ++j) e += std::pow(static_cast<double>(mean[j]) - delta[j], 2);
    return std::sqrt(e / norm2(delta));
  };
  return {error(early), error(late)};
}

TEST(Estimator, IsUnbiased) {
  // Expected relative error of the mean: sqrt((d/K)/R) ≈ sqrt(16/4000) = 0.063 (0.13 at R/4).
  const Layout lay{{{"a", 0, 256}, {"b", 256, 256}}, {16, 16}, 512};
  const auto delta = test_vector(lay.length, 6);
  for (Basis basis : kAllBases) {
    const auto [early, late] = mean_reconstruction_error(basis, lay, delta, 4000);
    EXPECT_LT(late, 0.1) << to_string(basis);
    EXPECT_LT(late, 0.7 * early) << to_string(basis) << ": the error does not shrink like 1/sqrt(R)";
    EXPECT_NEAR(late, std::sqrt(16.0 / 4000), 0.3 * std::sqrt(16.0 / 4000)) << to_string(basis);
  }
}

TEST(Estimator, VarianceIsAboutDOverKTimesTheSquaredNorm) {
  // Two blocks with different d_l/K_l: E‖Δ̃_l − Δ_l‖² = (d_l − 2 + κ)/K_l ‖Δ_l‖² ≈ (d_l/K_l)‖Δ_l‖².
  const Layout lay{{{"a", 0, 512}, {"b", 512, 256}}, {16, 4}, 768};
  const auto delta = test_vector(lay.length, 7);
  const uint32_t rounds = 400;
  for (Basis basis : kAllBases) {
    std::vector<double> sq_error(2, 0.0);
    std::vector<float> gamma(20);
    for (uint32_t r = 1; r <= rounds; ++r) {
      const ProjectionSpec spec{basis, 7, r};
      project(spec, lay.blocks, lay.k, delta, gamma);
      std::vector<float> rec(lay.length, 0.0f);
      reconstruct_add(spec, lay.blocks, lay.k, gamma, 1.0f, rec);
      for (size_t l = 0; l < 2; ++l)
        for (uint64_t j = lay.blocks[l].offset; j < lay.blocks[l].offset + lay.blocks[l].size; ++j)
          sq_error[l] += std::pow(static_cast<double>(rec[j]) - delta[j], 2) / rounds;
    }
    for (size_t l = 0; l < 2; ++l) {
      const Block& b = lay.blocks[l];
      const double expected = static_cast<double>(b.size) / lay.k[l] *
                              norm2(std::span<const float>(delta).subspan(b.offset, b.size));
      EXPECT_NEAR(sq_error[l] / expected, 1.0, 0.15) << to_string(basis) << " block " << l;
    }
  }
}

// ---- determinism ----

TEST(Determinism, BitwiseIdenticalForAnyThreadCount) {
  // 600k coordinates -> many chunks per block, plus small blocks.
  const Layout lay{{{"big", 0, 600000}, {"small", 600000, 1000}, {"mid", 601000, 70001}}, {6, 2, 3}, 671001};
  const auto delta = test_vector(lay.length, 8);
  for (Basis basis : kAllBases) {
    const ProjectionSpec spec{basis, 31337, 12};
    std::vector<std::vector<float>> gammas, outs;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> gamma(11);
      project(spec, lay.blocks, lay.k, delta, gamma);
      std::vector<float> out = delta;
      reconstruct_add(spec, lay.blocks, lay.k, gamma, 0.5f, out);
      gammas.push_back(gamma);
      outs.push_back(std::move(out));
      const auto norms = block_sq_norms(lay.blocks, delta);
      if (threads > 1) {
        EXPECT_EQ(norms, block_sq_norms(lay.blocks, delta));
      }
    }
    omp_set_num_threads(omp_get_num_procs());
    EXPECT_EQ(gammas[0], gammas[1]) << to_string(basis);
    EXPECT_EQ(gammas[0], gammas[2]) << to_string(basis);
    EXPECT_EQ(outs[0], outs[1]) << to_string(basis);
    EXPECT_EQ(outs[0], outs[2]) << to_string(basis);
  }
}

TEST(Determinism, DependsOnSeedRoundAndBlockIndex) {
  const Layout lay{{{"a", 0, 1000}, {"b", 1000, 1000}}, {3, 3}, 2000};
  std::vector<float> delta(2000, 1.0f);
  auto coefficients = [&](uint64_t seed, uint32_t round) {
    std::vector<float> gamma(6);
    project({Basis::rademacher, seed, round}, lay.blocks, lay.k, delta, gamma);
    return gamma;
  };
  const auto base = coefficients(1, 1);
  EXPECT_EQ(base, coefficients(1, 1));
  EXPECT_NE(base, coefficients(2, 1));
  EXPECT_NE(base, coefficients(1, 2));
  // Identical blocks with identical contents still get different bases (block index l).
  EXPECT_NE(std::vector<float>(base.begin(), base.begin() + 3), std::vector<float>(base.begin() + 3, base.end()));
}

// ---- argument checking ----

// The host ParamKernels are projection.hpp's functions plus the vector operations FedAvg needs; the
// GPU ones (test_cuda.cpp) are checked against these.
TEST(HostParamKernels, MatchProjectionFunctionsAndPlainLoops) {
  const ParamKernels& host = host_param_kernels();
  EXPECT_FALSE(host.device_memory());
  const Layout lay = mixed_layout();
  const ProjectionSpec spec{Basis::rademacher, 5, 2};
  std::vector<float> delta(lay.length);
  for (size_t j = 0; j < delta.size(); ++j) delta[j] = std::sin(0.37f * static_cast<float>(j)) + 0.01f;
  std::vector<float> g1(14), g2(14);
  project(spec, lay.blocks, lay.k, delta, g1);
  host.project(spec, lay.blocks, lay.k, delta, g2);
  EXPECT_EQ(g1, g2);
  std::vector<float> out1 = delta, out2 = delta;
  reconstruct_add(spec, lay.blocks, lay.k, g1, -1.0f, out1);
  host.reconstruct_add(spec, lay.blocks, lay.k, g1, -1.0f, out2);
  EXPECT_EQ(out1, out2);
  EXPECT_EQ(host.block_sq_norms(lay.blocks, delta), block_sq_norms(lay.blocks, delta));

  std::vector<float> copy(delta.size());
  host.copy_to_host(delta, copy);
  EXPECT_EQ(copy, delta);
  std::vector<float> y = delta, x(delta.size());
  for (size_t j = 0; j < x.size(); ++j) x[j] = 0.5f + static_cast<float>(j % 7);
  host.add_from_host(-1.0f, x, y);
  for (size_t j = 0; j < y.size(); ++j) ASSERT_EQ(y[j], delta[j] - x[j]) << j;  // FedAvg's w − s, exactly
  y = delta;
  host.add_from_host(0.3f, x, y);
  for (size_t j = 0; j < y.size(); ++j) ASSERT_EQ(y[j], std::fma(0.3f, x[j], delta[j])) << j;
  std::vector<float> short_x(x.size() - 1);
  EXPECT_THROW(host.add_from_host(1.0f, short_x, y), std::invalid_argument);
  EXPECT_THROW(host.copy_to_host(short_x, y), std::invalid_argument);
}

TEST(Arguments, BadSizesThrow) {
  const Layout lay = mixed_layout();
  const ProjectionSpec spec{Basis::rademacher, 1, 1};
  std::vector<float> delta(lay.length), gamma(14);
  std::vector<float> short_gamma(13), short_delta(5899);
  EXPECT_THROW(project(spec, lay.blocks, lay.k, delta, short_gamma), std::invalid_argument);
  EXPECT_THROW(project(spec, lay.blocks, lay.k, short_delta, gamma), std::invalid_argument);
  EXPECT_THROW(reconstruct_add(spec, lay.blocks, lay.k, short_gamma, 1.0f, delta), std::invalid_argument);
  EXPECT_THROW(reconstruct_add(spec, lay.blocks, lay.k, gamma, 1.0f, short_delta), std::invalid_argument);
  EXPECT_THROW(block_sq_norms(lay.blocks, short_delta), std::invalid_argument);
  const std::vector<uint32_t> three_k{3, 5, 2};
  EXPECT_THROW(project(spec, lay.blocks, three_k, delta, gamma), std::invalid_argument);
  const std::vector<uint32_t> zero_k{3, 5, 0, 6};
  EXPECT_THROW(project(spec, lay.blocks, zero_k, delta, gamma), std::invalid_argument);
  std::vector<Block> overlapping = lay.blocks;
  overlapping[1].offset = 299;
  EXPECT_THROW(project(spec, overlapping, lay.k, delta, gamma), std::invalid_argument);
  std::vector<Block> empty_block = lay.blocks;
  empty_block[2].size = 0;
  EXPECT_THROW(reconstruct_add(spec, empty_block, lay.k, gamma, 1.0f, delta), std::invalid_argument);
  try {
    project(spec, lay.blocks, lay.k, delta, short_gamma);
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("13"), std::string::npos) << what;
    EXPECT_NE(what.find("14"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace ferret
