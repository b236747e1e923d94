#include <gtest/gtest.h>

#include "model/batch.hpp"
#include "model/local_training.hpp"
#include "model/evaluation.hpp"
#include "model/flat_params.hpp"
#include "model/llama.hpp"
#include "data/embedded_tasks.hpp"

namespace {

using namespace ferret;

ModelConfig small_model(bool tie = true) {
  ModelConfig m;
  m.hidden_size = 32;
  m.num_layers = 2;
  m.num_heads = 4;
  m.num_kv_heads = 2;
  m.intermediate_size = 48;
  m.tie_embeddings = tie;
  m.max_seq_len = 128;
  m.vocab_size = ByteTokenizer::kVocabSize;
  return m;
}

TEST(Model, ParameterNamesFollowHuggingFaceLlama) {
  auto untied = make_model(small_model(/*tie=*/false), 1);
  std::vector<std::string> names;
  for (const auto& p : untied->named_parameters()) names.push_back(p.key());
  const std::vector<std::string> expected_prefix = {
      "model.embed_tokens.weight",          "model.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
      "model.layers.0.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
      "model.layers.0.mlp.up_proj.weight",  "model.layers.0.mlp.down_proj.weight",
      "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight"};
  ASSERT_GE(names.size(), expected_prefix.size());
  for (size_t i = 0; i < expected_prefix.size(); ++i) EXPECT_EQ(names[i], expected_prefix[i]);
  EXPECT_EQ(names[names.size() - 2], "model.norm.weight");
  EXPECT_EQ(names.back(), "lm_head.weight");
  // Grouped-query attention: k/v project to num_kv_heads · head_dim.
  EXPECT_EQ(untied->named_parameters()["model.layers.0.self_attn.k_proj.weight"].size(0), 2 * 8);
  auto tied = make_model(small_model(/*tie=*/true), 1);
  EXPECT_EQ(tied->named_parameters().size(), names.size() - 1);
}

TEST(Model, SameSeedSameWeightsDifferentSeedDifferent) {
  auto a = make_model(small_model(), 7), b = make_model(small_model(), 7), c = make_model(small_model(), 8);
  auto fa = flatten_parameters(*a), fb = flatten_parameters(*b), fc = flatten_parameters(*c);
  EXPECT_TRUE(torch::equal(fa.flat, fb.flat));
  EXPECT_FALSE(torch::equal(fa.flat, fc.flat));
}

TEST(Model, AttentionIsCausal) {
  auto m = make_model(small_model(), 3);
  m->eval();
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {1, 12}, torch::kInt64);
  auto y = x.clone();
  y[0][8] = (x[0][8].item<int64_t>() + 1) % 256;
  auto lx = m->forward(x), ly = m->forward(y);
  EXPECT_EQ(lx.sizes(), (std::vector<int64_t>{1, 12, ByteTokenizer::kVocabSize}));
  EXPECT_TRUE(torch::allclose(lx.narrow(1, 0, 8), ly.narrow(1, 0, 8)));
  EXPECT_FALSE(torch::allclose(lx.narrow(1, 8, 4), ly.narrow(1, 8, 4)));
}

TEST(FlatParams, ParametersAreViewsOfOneVector) {
  auto m = make_model(small_model(), 5);
  auto before = m->named_parameters()["model.norm.weight"].clone();
  auto fp = flatten_parameters(*m);
  int64_t total = 0;
  for (const auto& p : m->parameters()) total += p.numel();
  EXPECT_EQ(static_cast<int64_t>(fp.size()), total);
  EXPECT_TRUE(torch::equal(m->named_parameters()["model.norm.weight"], before));  // values kept
  fp.span()[fp.size() - 1] = 42.0f;  // the last parameter's last element
  auto last = m->parameters().back();
  EXPECT_EQ(last.view(-1)[-1].item<float>(), 42.0f);
}

TEST(MaskedLoss, OnlyMaskedTargetsCount) {
  auto logits = torch::zeros({1, 4, 5});
  logits[0][0][1] = 10.0;  // predicts token 1 at position 1: right
  logits[0][1][0] = 10.0;  // predicts token 0 at position 2: wrong, but masked out
  auto tokens = torch::tensor({{3, 1, 2, 4}}, torch::kInt64);
  auto mask = torch::tensor({{0, 1, 0, 0}}, torch::kUInt8);
  auto [loss, count] = masked_lm_loss(logits, tokens, mask);
  EXPECT_EQ(count, 1);
  EXPECT_LT(loss.item<float>(), 1e-3);
}

// Client 0's training examples of the embedded data, encoded.
std::vector<EncodedExample> first_client_examples(uint64_t seed, int train_per_client) {
  const auto data = make_embedded_data(2, seed, train_per_client, 2);
  std::vector<EncodedExample> enc;
  for (const auto& ex : data.clients[0].train) enc.push_back(encode_example(ByteTokenizer{}, ex, 128));
  return enc;
}

TEST(Client, LocalTrainingLowersLossOnItsTask) {
  auto m = make_model(small_model(), 11);
  auto fp = flatten_parameters(*m);
  const auto enc = first_client_examples(11, 64);
  Config c;
  c.local_steps = 30;
  c.lr = 3e-3;
  const double before = eval_loss(m, enc);
  train_client(m, enc, c, 0, 0);
  const double after = eval_loss(m, enc);
  EXPECT_LT(after, before - 0.5) << "before " << before << " after " << after;
}

TEST(Client, TrainingIsReproducible) {
  const auto enc = first_client_examples(2, 32);
  Config c;
  c.local_steps = 3;
  auto a = make_model(small_model(), 4), b = make_model(small_model(), 4);
  auto fa = flatten_parameters(*a), fb = flatten_parameters(*b);
  train_client(a, enc, c, 2, 0);
  train_client(b, enc, c, 2, 0);
  EXPECT_TRUE(torch::equal(fa.flat, fb.flat));
}

}  // namespace
