// Tests of the data module: tokenizer, prompt template and encoding, embedded synthetic tasks,
// Natural Instructions loader, Rouge-L.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "data/example.hpp"
#include "data/natural_instructions.hpp"
#include "data/rouge.hpp"
#include "data/embedded_tasks.hpp"
#include "data/tokenizer.hpp"

namespace ferret {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- tokenizer

TEST(ByteTokenizer, RoundTripsAsciiAndNonAsciiBytes) {
  ByteTokenizer tok;
  const std::string text = std::string("h\xC3\xA9llo \xE2\x9C\x93 tab\t") + std::string(1, '\0') + "\xFF\x80";
  const std::vector<int32_t> ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  EXPECT_EQ(ids[1], 0xC3);  // bytes >= 0x80 are ids 128..255, not negative
  EXPECT_EQ(ids.back(), 0x80);
  for (int32_t id : ids) {
    EXPECT_GE(id, 0);
    EXPECT_LE(id, 255);
  }
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(ByteTokenizer, DecodeSkipsPadAndBosAndStopsAtEos) {
  ByteTokenizer tok;
  const std::vector<int32_t> ids{ByteTokenizer::kBos, 'a', ByteTokenizer::kPad, 'b', ByteTokenizer::kEos, 'c', 'd'};
  EXPECT_EQ(tok.decode(ids), "ab");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{ByteTokenizer::kEos, 'x'}), "");
  EXPECT_EQ(ByteTokenizer::kVocabSize, 259);
}

TEST(ByteTokenizer, DecodeRejectsIdsOutsideVocabulary) {
  ByteTokenizer tok;
  EXPECT_THROW(tok.decode(std::vector<int32_t>{'a', ByteTokenizer::kVocabSize}), std::invalid_argument);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{-1}), std::invalid_argument);
}

// ---------------------------------------------------------------- template and encoding

TEST(PromptTemplate, ExactTextWithAndWithoutInput) {
  EXPECT_EQ(format_prompt({"Reverse the letters.", "abc", "cba"}),
            "### Instruction:\nReverse the letters.\n\n### Input:\nabc\n\n### Response:\n");
  EXPECT_EQ(format_prompt({"Say hi.", "", "hi"}), "### Instruction:\nSay hi.\n\n### Response:\n");
}

size_t count_ones(const std::vector<uint8_t>& mask) { return static_cast<size_t>(std::count(mask.begin(), mask.end(), 1)); }

TEST(EncodeExample, MaskCoversExactlyResponseAndEos) {
  ByteTokenizer tok;
  const Example ex{"Reverse the letters.", "abc", "cba"};
  const EncodedExample enc = encode_example(tok, ex, 512);
  const std::string prompt = format_prompt(ex);

  std::vector<int32_t> expected{ByteTokenizer::kBos};
  for (unsigned char c : prompt + "cba") expected.push_back(c);
  expected.push_back(ByteTokenizer::kEos);
  ASSERT_EQ(enc.tokens, expected);
  ASSERT_EQ(enc.loss_mask.size(), enc.tokens.size());
  for (size_t i = 0; i < enc.tokens.size(); ++i)
    EXPECT_EQ(enc.loss_mask[i], i >= 1 + prompt.size() ? 1 : 0) << "position " << i;
}

TEST(EncodeExample, TruncationCutsPromptFromTheLeftAndKeepsResponse) {
  ByteTokenizer tok;
  const Example ex{"A long instruction that will not fit at all.", "some input", "answer"};
  const size_t max_len = 1 + 20 + 6 + 1;  // BOS + 20 prompt tokens + response + EOS
  const EncodedExample enc = encode_example(tok, ex, max_len);
  ASSERT_EQ(enc.tokens.size(), max_len);
  ASSERT_EQ(enc.loss_mask.size(), max_len);
  EXPECT_EQ(enc.tokens.front(), ByteTokenizer::kBos);
  EXPECT_EQ(enc.tokens.back(), ByteTokenizer::kEos);
  const std::string prompt = format_prompt(ex);
  EXPECT_EQ(tok.decode(std::span(enc.tokens).subspan(1, 20)), prompt.substr(prompt.size() - 20));  // tail kept
  EXPECT_EQ(tok.decode(std::span(enc.tokens).subspan(21)), "answer");
  EXPECT_EQ(count_ones(enc.loss_mask), 6u + 1u);
  EXPECT_EQ(enc.loss_mask[20], 0);
  EXPECT_EQ(enc.loss_mask[21], 1);
}

TEST(EncodeExample, ResponseLongerThanMaxLenIsCutWithoutEos) {
  ByteTokenizer tok;
  const EncodedExample enc = encode_example(tok, {"Copy.", "abcdef", "abcdef"}, 4);
  EXPECT_EQ(enc.tokens, (std::vector<int32_t>{ByteTokenizer::kBos, 'a', 'b', 'c'}));
  EXPECT_EQ(enc.loss_mask, (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_THROW(encode_example(tok, {"Copy.", "a", "a"}, 1), std::invalid_argument);
}

TEST(EncodePrompt, BosPlusPromptWithTheSameLeftCut) {
  ByteTokenizer tok;
  const Example ex{"Reverse the letters.", "abc", "cba"};
  const std::string prompt = format_prompt(ex);
  const std::vector<int32_t> full = encode_prompt(tok, ex, 1000);
  ASSERT_EQ(full.size(), prompt.size() + 1);
  EXPECT_EQ(full.front(), ByteTokenizer::kBos);
  EXPECT_EQ(tok.decode(full), prompt);
  const std::vector<int32_t> cut = encode_prompt(tok, ex, 11);
  ASSERT_EQ(cut.size(), 11u);
  EXPECT_EQ(cut.front(), ByteTokenizer::kBos);
  EXPECT_EQ(tok.decode(cut), prompt.substr(prompt.size() - 10));
}

// ---------------------------------------------------------------- embedded tasks

// Independent re-computation of every family's answer (not the generator's code).
using Checker = std::function<bool(const std::string& input, const std::string& output)>;

bool all_of_chars(const std::string& s, const char* allowed) {
  return !s.empty() && s.find_first_not_of(allowed) == std::string::npos;
}

const std::map<std::string, Checker>& checkers() {
  static const std::map<std::string, Checker> kCheckers = {
      {"copy", [](const std::string& in, const std::string& out) { return out == in; }},
      {"reverse", [](const std::string& in, const std::string& out) { return out == std::string(in.rbegin(), in.rend()); }},
      {"uppercase",
       [](const std::string& in, const std::string& out) {
         if (in.size() != out.size()) return false;
         for (size_t i = 0; i < in.size(); ++i)
           if (out[i] != static_cast<char>(std::toupper(static_cast<unsigned char>(in[i])))) return false;
         return out != in;
       }},
      {"sort_letters",
       [](const std::string& in, const std::string& out) {
         std::multiset<char> a(in.begin(), in.end()), b(out.begin(), out.end());
         return a == b && std::is_sorted(out.begin(), out.end());
       }},
      {"add",
       [](const std::string& in, const std::string& out) {
         const size_t plus = in.find('+');
         if (plus == std::string::npos) return false;
         const int a = std::stoi(in.substr(0, plus)), b = std::stoi(in.substr(plus + 1));
         return a >= 0 && a < 1000 && b >= 0 && b < 1000 && out == std::to_string(a + b);
       }},
      {"count_letter",
       [](const std::string& in, const std::string& out) {
         if (in.size() < 3 || in[1] != ':') return false;
         int n = 0;
         for (char c : in.substr(2)) n += (c == in[0]);
         return out == std::to_string(n);
       }},
      {"first_i",
       [](const std::string& in, const std::string& out) {
         const size_t colon = in.find(':');
         const int n = std::stoi(in.substr(0, colon));
         std::vector<std::string> items;
         std::string item;
         for (char c : in.substr(colon + 1) + ",") {
           if (c == ',') items.push_back(item), item.clear();
           else item += c;
         }
         if (n < 1 || n > static_cast<int>(items.size())) return false;
         std::string expected;
         for (int i = 0; i < n; ++i) expected += (i ? "," : "") + items[static_cast<size_t>(i)];
         return out == expected;
       }},
      {"max_digit",
       [](const std::string& in, const std::string& out) {
         return all_of_chars(in, "0123456789") && out == std::string(1, *std::max_element(in.begin(), in.end()));
       }},
      {"count_vowels",
       [](const std::string& in, const std::string& out) {
         int n = 0;
         for (char c : in) n += (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u');
         return out == std::to_string(n);
       }},
      {"last_word",
       [](const std::string& in, const std::string& out) {
         const size_t space = in.rfind(' ');
         return space != std::string::npos && out == in.substr(space + 1);
       }},
  };
  return kCheckers;
}

std::map<std::string, std::string> family_of_instruction() {
  std::map<std::string, std::string> family;
  for (const std::string& name : embedded_task_names()) family[embedded_task_instruction(name)] = name;
  return family;
}

bool same_examples(const std::vector<Example>& a, const std::vector<Example>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Example& x, const Example& y) {
    return x.instruction == y.instruction && x.input == y.input && x.output == y.output;
  });
}

bool same_data(const FederatedData& a, const FederatedData& b) {
  if (a.clients.size() != b.clients.size() || !same_examples(a.eval, b.eval)) return false;
  for (size_t c = 0; c < a.clients.size(); ++c)
    if (a.clients[c].name != b.clients[c].name || !same_examples(a.clients[c].train, b.clients[c].train)) return false;
  return true;
}

TEST(EmbeddedTasks, AtLeastEightDistinctFamiliesWithDistinctInstructions) {
  const std::vector<std::string> names = embedded_task_names();
  EXPECT_GE(names.size(), 8u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(family_of_instruction().size(), names.size());
  for (const std::string& name : names) EXPECT_TRUE(checkers().contains(name)) << "no checker for " << name;
  EXPECT_THROW(embedded_task_instruction("no_such_task"), std::invalid_argument);
}

TEST(EmbeddedTasks, DeterministicPerSeed) {
  const FederatedData a = make_embedded_data(7, 42, 30, 10), b = make_embedded_data(7, 42, 30, 10);
  const FederatedData c = make_embedded_data(7, 43, 30, 10);
  EXPECT_TRUE(same_data(a, b));
  EXPECT_FALSE(same_data(a, c));
  // Pinned values: a platform- or library-dependent change of the generator would show here.
  EXPECT_EQ(a.clients[0].train[0].input, "ifihu");    // copy
  EXPECT_EQ(a.clients[2].train[1].input, "3317008");  // client 2's second family, max_digit
  EXPECT_EQ(a.eval[0].input, "dmkpakd");              // first eval instance of copy
  EXPECT_EQ(a.eval.back().input, "lrnu pj");          // last eval instance of last_word
}

TEST(EmbeddedTasks, EveryAnswerIsCorrect) {
  const FederatedData data = make_embedded_data(25, 7, 60, 40);
  const auto family = family_of_instruction();
  std::vector<const Example*> all;
  for (const ClientData& client : data.clients)
    for (const Example& ex : client.train) all.push_back(&ex);
  for (const Example& ex : data.eval) all.push_back(&ex);
  for (const Example* ex : all) {
    ASSERT_TRUE(family.contains(ex->instruction)) << "unknown instruction: " << ex->instruction;
    const std::string& name = family.at(ex->instruction);
    EXPECT_TRUE(checkers().at(name)(ex->input, ex->output))
        << name << ": input '" << ex->input << "' → output '" << ex->output << "'";
  }
}

TEST(EmbeddedTasks, SequencesStayShort) {
  ByteTokenizer tok;
  const FederatedData data = make_embedded_data(10, 3, 200, 50);
  size_t longest = 0;
  for (const ClientData& client : data.clients)
    for (const Example& ex : client.train) longest = std::max(longest, encode_example(tok, ex, 1000).tokens.size());
  EXPECT_LT(longest, 96u);
}

TEST(EmbeddedTasks, NonIidClientsHoldTheFamiliesTheirNameSays) {
  const FederatedData data = make_embedded_data(12, 1, 40, 5);
  ASSERT_EQ(data.clients.size(), 12u);
  const auto family = family_of_instruction();
  const std::vector<std::string> names = embedded_task_names();
  std::vector<std::set<std::string>> held(data.clients.size());
  for (size_t c = 0; c < data.clients.size(); ++c) {
    ASSERT_EQ(data.clients[c].train.size(), 40u);
    for (const Example& ex : data.clients[c].train) held[c].insert(family.at(ex.instruction));
    EXPECT_LE(held[c].size(), 2u);
    EXPECT_TRUE(data.clients[c].name.starts_with(names[c % names.size()])) << data.clients[c].name;  // primary first
    for (const std::string& f : held[c]) EXPECT_NE(data.clients[c].name.find(f), std::string::npos);
  }
  EXPECT_EQ(held[0], std::set<std::string>{names[0]});
  EXPECT_EQ(held[1], std::set<std::string>{names[1]});
  EXPECT_NE(held[0], held[1]);
  EXPECT_EQ(held[2].size(), 2u);  // every third client is multi-task
  EXPECT_NE(data.clients[2].name.find('+'), std::string::npos);
}

TEST(EmbeddedTasks, EvalCoversEveryFamilyAndIsDisjointFromTrain) {
  const int eval_per_task = 300;  // many small-space inputs (e.g. 3-digit max_digit) so collisions would happen
  const FederatedData data = make_embedded_data(40, 11, 200, eval_per_task);
  const auto family = family_of_instruction();
  std::map<std::string, int> eval_count;
  std::set<std::pair<std::string, std::string>> eval_keys;
  for (const Example& ex : data.eval) {
    ++eval_count[family.at(ex.instruction)];
    EXPECT_TRUE(eval_keys.insert({ex.instruction, ex.input}).second) << "duplicate eval input " << ex.input;
  }
  for (const std::string& name : embedded_task_names()) EXPECT_EQ(eval_count[name], eval_per_task) << name;
  size_t overlaps = 0;
  for (const ClientData& client : data.clients)
    for (const Example& ex : client.train) overlaps += eval_keys.contains({ex.instruction, ex.input});
  EXPECT_EQ(overlaps, 0u);
}

TEST(EmbeddedTasks, RejectsBadArguments) {
  EXPECT_THROW(make_embedded_data(0, 1, 10, 1), std::invalid_argument);
  EXPECT_THROW(make_embedded_data(2, 1, 0, 1), std::invalid_argument);
  EXPECT_THROW(make_embedded_data(2, 1, 10, -1), std::invalid_argument);
  EXPECT_TRUE(make_embedded_data(2, 1, 10, 0).eval.empty());
}

// ---------------------------------------------------------------- Natural Instructions

const std::string kNiDir = std::string(FERRET_SHARED_DIR) + "/data/natural-instructions/tasks";
constexpr size_t kNiTasks = 11, kNiInstances = 1896;  // per the data's README

#define SKIP_WITHOUT_NI_DATA() \
  if (!fs::is_directory(kNiDir)) GTEST_SKIP() << "shared NI data not found at " << kNiDir

size_t total_train(const FederatedData& data) {
  size_t n = 0;
  for (const ClientData& c : data.clients) n += c.train.size();
  return n;
}

std::set<std::pair<std::string, std::string>> keys_of(const std::vector<Example>& examples) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const Example& ex : examples) keys.insert({ex.instruction, ex.input});
  return keys;
}

TEST(NaturalInstructions, OneTaskPerClientWithNanFilesAndDisjointEval) {
  SKIP_WITHOUT_NI_DATA();
  const auto start = std::chrono::steady_clock::now();
  const FederatedData data = load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 5});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ NI load  ] " << kNiTasks << " tasks in " << ms << " ms\n";

  ASSERT_EQ(data.clients.size(), kNiTasks);
  EXPECT_EQ(data.clients[0].name, "task062_bigbench_repeat_copy_logic");  // sorted by file name
  std::set<std::string> names;
  for (const ClientData& client : data.clients) {
    EXPECT_FALSE(client.train.empty()) << client.name;
    EXPECT_EQ(client.name.find('+'), std::string::npos);
    names.insert(client.name);
    const std::set<std::string> instructions = [&] {
      std::set<std::string> s;
      for (const Example& ex : client.train) s.insert(ex.instruction);
      return s;
    }();
    EXPECT_EQ(instructions.size(), 1u) << client.name << " mixes tasks";
  }
  EXPECT_EQ(names.size(), kNiTasks);
  EXPECT_TRUE(names.contains("task1148_maximum_ascii_value"));  // a file with "URL": [NaN]
  EXPECT_TRUE(names.contains("task1404_date_conversion"));
  EXPECT_EQ(total_train(data) + data.eval.size(), kNiInstances);
  EXPECT_GE(data.eval.size(), kNiTasks);
  EXPECT_LE(data.eval.size(), kNiInstances / 10 + kNiTasks);
  EXPECT_TRUE(data.clients[1].train[0].instruction.starts_with("In this task, you are given a country name"));

  const auto eval_keys = keys_of(data.eval);
  EXPECT_EQ(eval_keys.size(), data.eval.size());
  for (const ClientData& client : data.clients)
    for (const Example& ex : client.train) EXPECT_FALSE(eval_keys.contains({ex.instruction, ex.input})) << ex.input;
}

TEST(NaturalInstructions, DeterministicPerSeed) {
  SKIP_WITHOUT_NI_DATA();
  const FederatedData a = load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 1});
  const FederatedData b = load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 1});
  const FederatedData c = load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 2});
  EXPECT_TRUE(same_data(a, b));
  EXPECT_FALSE(same_data(a, c));
}

TEST(NaturalInstructions, FewerClientsGetSeveralTasksRoundRobin) {
  SKIP_WITHOUT_NI_DATA();
  const FederatedData data = load_natural_instructions({.dir = kNiDir, .num_clients = 4, .seed = 3});
  ASSERT_EQ(data.clients.size(), 4u);
  EXPECT_EQ(data.clients[0].name,
            "task062_bigbench_repeat_copy_logic+task1189_check_char_in_string+task1333_check_validity_date_ddmmyyyy");
  EXPECT_EQ(data.clients[3].name, "task1149_item_check_edible+task1332_check_leap_year");
  EXPECT_EQ(total_train(data) + data.eval.size(), kNiInstances);
  std::set<std::string> instructions;
  for (const Example& ex : data.clients[0].train) instructions.insert(ex.instruction);
  EXPECT_EQ(instructions.size(), 3u);
}

TEST(NaturalInstructions, MoreClientsSplitATasksTrainInstances) {
  SKIP_WITHOUT_NI_DATA();
  const FederatedData one = load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 9});
  const FederatedData data = load_natural_instructions({.dir = kNiDir, .num_clients = 25, .seed = 9});
  ASSERT_EQ(data.clients.size(), 25u);
  EXPECT_TRUE(same_examples(one.eval, data.eval));  // the hold-out does not depend on the client count
  EXPECT_EQ(total_train(data), total_train(one));
  for (size_t c = 0; c < data.clients.size(); ++c) {
    EXPECT_EQ(data.clients[c].name, one.clients[c % kNiTasks].name);
    EXPECT_FALSE(data.clients[c].train.empty());
  }
  // Clients 0, 11, 22 share task 0: their parts are disjoint and together are task 0's train set.
  std::vector<Example> parts;
  for (size_t c : {0u, 11u, 22u})
    parts.insert(parts.end(), data.clients[c].train.begin(), data.clients[c].train.end());
  EXPECT_TRUE(same_examples(parts, one.clients[0].train));
  EXPECT_THROW(load_natural_instructions({.dir = kNiDir, .num_clients = 11 * 40, .seed = 9}), std::runtime_error);
}

TEST(NaturalInstructions, OptionsFilterAndCapTasks) {
  SKIP_WITHOUT_NI_DATA();
  // task062 has 29 instances: dropped when 30 are required.
  const FederatedData fewer = load_natural_instructions({.dir = kNiDir, .num_clients = 10, .seed = 1, .min_instances = 30});
  ASSERT_EQ(fewer.clients.size(), 10u);
  for (const ClientData& c : fewer.clients) EXPECT_NE(c.name, "task062_bigbench_repeat_copy_logic");
  const FederatedData capped =
      load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 1, .max_instances_per_task = 20});
  EXPECT_EQ(capped.eval.size(), 11u * 2u);
  for (const ClientData& c : capped.clients) EXPECT_EQ(c.train.size(), 18u) << c.name;
  // Inputs longer than 40 bytes dropped: task062 (inputs up to 138 bytes) and the poems lose instances.
  const FederatedData short_inputs =
      load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 1, .max_input_chars = 40, .min_instances = 0});
  for (const ClientData& c : short_inputs.clients)
    for (const Example& ex : c.train) EXPECT_LE(ex.input.size(), 40u);
  EXPECT_LT(total_train(short_inputs) + short_inputs.eval.size(), kNiInstances);
  EXPECT_THROW(load_natural_instructions({.dir = kNiDir, .num_clients = 0, .seed = 1}), std::invalid_argument);
  EXPECT_THROW(load_natural_instructions({.dir = kNiDir, .num_clients = 1, .seed = 1, .eval_fraction = 1.0}),
               std::invalid_argument);
}

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("ferret_test_data_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                                                  ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NaturalInstructions, PaperSplitInstanceFractionAndHeldOutTasks) {
  SKIP_WITHOUT_NI_DATA();
  const std::string held_out = "task1146_country_capital";
  const FederatedData all = load_natural_instructions({.dir = kNiDir, .num_clients = 11, .seed = 4, .min_instances = 0});
  const FederatedData paper = load_natural_instructions({.dir = kNiDir, .num_clients = 10, .seed = 4, .eval_fraction = 0.0,
                                                         .min_instances = 0, .instance_fraction = 0.2,
                                                         .eval_tasks = {held_out}});
  ASSERT_EQ(paper.clients.size(), 10u);  // 11 tasks, one held out: one task per client
  for (const ClientData& c : paper.clients) EXPECT_NE(c.name, held_out);
  // 20 % of each task kept, none held out of training tasks: about a fifth of the full train set.
  const double ratio = static_cast<double>(total_train(paper)) / static_cast<double>(total_train(all));
  EXPECT_GT(ratio, 0.15);
  EXPECT_LT(ratio, 0.25);
  // The held-out task gives max(20, 2 %) instances, and only its own.
  ASSERT_EQ(paper.eval.size(), 20u);
  std::set<std::string> instructions;
  for (const Example& ex : paper.eval) instructions.insert(ex.instruction);
  EXPECT_EQ(instructions.size(), 1u);
  for (const ClientData& c : paper.clients)
    for (const Example& ex : c.train) EXPECT_EQ(instructions.count(ex.instruction), 0u);
  EXPECT_NE(error_of([&] {
              load_natural_instructions({.dir = kNiDir, .num_clients = 2, .eval_fraction = 0.0, .eval_tasks = {"task_nope"}});
            }).find("task_nope"),
            std::string::npos);
  EXPECT_THROW(load_natural_instructions({.dir = kNiDir, .num_clients = 2, .eval_fraction = 0.0}), std::invalid_argument);
  EXPECT_THROW(load_natural_instructions({.dir = kNiDir, .num_clients = 2, .instance_fraction = 0.0}), std::invalid_argument);
}

TEST(NaturalInstructions, KeepPredicateFiltersBeforeTheSplit) {
  SKIP_WITHOUT_NI_DATA();
  const auto short_output = [](const Example& ex) { return ex.output.size() <= 3; };
  const FederatedData data = load_natural_instructions({.dir = kNiDir, .num_clients = 3, .seed = 2, .min_instances = 0,
                                                        .keep = short_output});
  size_t n = 0;
  for (const ClientData& c : data.clients)
    for (const Example& ex : c.train) {
      EXPECT_TRUE(short_output(ex));
      ++n;
    }
  for (const Example& ex : data.eval) EXPECT_TRUE(short_output(ex));
  EXPECT_GT(n, 0u);
}

TEST(NaturalInstructions, NanOutsideStringsIsNullAndInsideStringsIsText) {
  TempDir dir;
  dir.write("a_task.json", R"({"URL": [NaN, -Infinity, Infinity], "Definition": ["Say \"NaN\" back."],
    "Instances": [{"id": "1", "input": "NaN here", "output": ["NaN"]},
                  {"id": "2", "input": "x \\\" NaN", "output": ["y"]},
                  {"id": "3", "input": "z", "output": []},
                  {"id": "4", "input": "w", "output": ["v", "u"]}]})");
  const FederatedData data = load_natural_instructions({.dir = dir.str(), .num_clients = 1, .seed = 0, .min_instances = 2});
  ASSERT_EQ(data.clients.size(), 1u);
  EXPECT_EQ(data.clients[0].name, "a_task");
  std::vector<Example> all = data.clients[0].train;
  all.insert(all.end(), data.eval.begin(), data.eval.end());
  ASSERT_EQ(all.size(), 3u);  // instance 3 has no output
  std::set<std::string> inputs;
  for (const Example& ex : all) {
    inputs.insert(ex.input);
    EXPECT_EQ(ex.instruction, "Say \"NaN\" back.");
    if (ex.input == "NaN here") {
      EXPECT_EQ(ex.output, "NaN");
    }
    if (ex.input == "w") {
      EXPECT_EQ(ex.output, "v");  // the first output
    }
  }
  EXPECT_EQ(inputs, (std::set<std::string>{"NaN here", "x \\\" NaN", "w"}));
}

TEST(NaturalInstructions, SkippedInstancesAndDroppedTasksAreReported) {
  TempDir dir;  // both were dropped without a word
  dir.write("mixed.json", R"({"Definition": ["d"], "Instances": [{"input": "a", "output": ["b"]}, {"input": "c", "output": ["d"]},
    {"input": 5, "output": ["x"]}, {"input": "e", "output": "f"}, "not an object"]})");
  dir.write("empty.json", R"({"Definition": ["d"], "Instances": []})");
  std::vector<std::string> warnings;
  const FederatedData data = load_natural_instructions(
      {.dir = dir.str(), .num_clients = 1, .seed = 0, .min_instances = 2, .warn = [&](const std::string& w) { warnings.push_back(w); }});
  ASSERT_EQ(data.clients.size(), 1u);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("task empty left out: 0 usable instances, fewer than the 2 a task needs"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("mixed.json: skipped 3 of 5 instances that are not {\"input\": string"), std::string::npos)
      << warnings[1];
}

TEST(NaturalInstructions, ErrorsNameTheBadPath) {
  TempDir dir;
  dir.write("good.json", R"({"Definition": ["d"], "Instances": [{"input": "a", "output": ["b"]}]})");
  dir.write("task_broken.json", R"({"Definition": ["d"], "Instances": [{"input": "a", )");
  EXPECT_NE(error_of([&] { load_natural_instructions({.dir = dir.str(), .num_clients = 1, .seed = 0}); })
                .find("task_broken.json"),
            std::string::npos);

  TempDir no_definition;
  no_definition.write("t.json", R"({"Instances": []})");
  EXPECT_NE(error_of([&] { load_natural_instructions({.dir = no_definition.str(), .num_clients = 1, .seed = 0}); })
                .find("t.json"),
            std::string::npos);

  TempDir empty;
  empty.write("notes.txt", "no json here");
  EXPECT_NE(error_of([&] { load_natural_instructions({.dir = empty.str(), .num_clients = 1, .seed = 0}); }).find(empty.str()),
            std::string::npos);

  const std::string missing = empty.str() + "/does_not_exist";
  EXPECT_NE(error_of([&] { load_natural_instructions({.dir = missing, .num_clients = 1, .seed = 0}); }).find(missing),
            std::string::npos);

  TempDir too_small;  // one usable instance < min_instances → no task left
  too_small.write("t.json", R"({"Definition": ["d"], "Instances": [{"input": "a", "output": ["b"]}]})");
  EXPECT_NE(error_of([&] { load_natural_instructions({.dir = too_small.str(), .num_clients = 1, .seed = 0}); })
                .find(too_small.str()),
            std::string::npos);
}

// ---------------------------------------------------------------- Rouge-L

TEST(RougeL, KnownValues) {
  EXPECT_DOUBLE_EQ(rouge_l("the cat sat", "the cat sat"), 1.0);
  EXPECT_DOUBLE_EQ(rouge_l("The CAT sat", "the cat SAT"), 1.0);  // case-insensitive
  EXPECT_DOUBLE_EQ(rouge_l("a\tb\n  c", "a b c"), 1.0);          // any whitespace splits
  EXPECT_DOUBLE_EQ(rouge_l("dog runs", "the cat sat"), 0.0);
  // LCS(the cat sat on the mat | the cat lay on a mat) = the cat on mat: P = R = 4/6 → F = 2/3.
  EXPECT_DOUBLE_EQ(rouge_l("the cat sat on the mat", "the cat lay on a mat"), 2.0 / 3.0);
  // LCS(a b c | a x c y z) = a c: P = 2/3, R = 2/5 → F = 2·(4/15)/(16/15) = 0.5.
  EXPECT_DOUBLE_EQ(rouge_l("a b c", "a x c y z"), 0.5);
  // Order matters (subsequence, not bag of words): LCS(c b a | a b c) = 1 → F = 1/3.
  EXPECT_DOUBLE_EQ(rouge_l("c b a", "a b c"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(rouge_l("cat.", "cat"), 1.0);  // punctuation separates, as in rouge-score
  EXPECT_DOUBLE_EQ(rouge_l("don't stop", "don t stop"), 1.0);
  EXPECT_DOUBLE_EQ(rouge_l("caf\xC3\xA9 au lait", "caf au lait"), 1.0);  // é is a separator
  EXPECT_DOUBLE_EQ(rouge_l("\xC4\xB0stanbul", "istanbul"), 0.0);        // İ -> "i" + U+0307: "i stanbul"
  EXPECT_DOUBLE_EQ(rouge_l("\xE2\x84\xAA", "k"), 1.0);                  // Kelvin sign lower-cases to k
  EXPECT_DOUBLE_EQ(rouge_l("\xFF\xFE" "ab", "ab"), 1.0);                    // malformed UTF-8 separates
}

TEST(RougeL, EmptySides) {
  EXPECT_DOUBLE_EQ(rouge_l("", ""), 0.0);  // rouge-score scores an empty pair 0
  EXPECT_DOUBLE_EQ(rouge_l("  \n", "?!"), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l("", "cat"), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l("cat", " "), 0.0);
}

TEST(RougeL, MeanOverPairs) {
  const std::vector<std::string> preds{"a b c", "x", "the cat"}, refs{"a x c y z", "x", "dog"};
  EXPECT_DOUBLE_EQ(mean_rouge_l(preds, refs), (0.5 + 1.0 + 0.0) / 3.0);
  EXPECT_DOUBLE_EQ(mean_rouge_l(std::span<const std::string>{}, std::span<const std::string>{}), 0.0);
  EXPECT_THROW(mean_rouge_l(std::span(preds).first(2), refs), std::invalid_argument);
}

}  // namespace
}  // namespace ferret
