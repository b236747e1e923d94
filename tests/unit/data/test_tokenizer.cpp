// Byte-level BPE: pre-tokenizer pieces, merge order, added tokens, decode, tokenizer.json and errors.
// Bit-equality with Hugging Face `tokenizers` on real vocabularies is the tokenizer oracle's job
// (tests/oracle/test_tokenizer_oracle.py); these tests pin the rules on small hand-made vocabularies.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/bpe_tokenizer.hpp"

namespace fs = std::filesystem;
using namespace ferret;

namespace {

std::vector<std::string> pieces(std::string_view pre, std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view p : bpe_pre_tokenize(pre, text)) out.emplace_back(p);
  return out;
}

// GPT-2's byte→unicode character of byte b, as UTF-8.
std::string byte_char(int b) {
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  int cp = b;
  if (!printable) {
    cp = 256;
    for (int x = 0; x < b; ++x)
      if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) ++cp;
  }
  std::string s;
  if (cp < 0x80) s += static_cast<char>(cp);
  else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// The 256 byte tokens (id = byte), then `extra` tokens, then the specials; merges as given.
BpeVocab small_vocab(const std::vector<std::string>& extra, const std::vector<std::string>& merges,
                     const std::vector<std::string>& specials = {}, std::string pre = "gpt2") {
  BpeVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_char(b));
  for (const auto& t : extra) v.tokens.push_back(t);
  for (const auto& s : specials) {
    v.special_ids.push_back(static_cast<int32_t>(v.tokens.size()));
    v.tokens.push_back(s);
  }
  v.merges = merges;
  v.pre_tokenizer = std::move(pre);
  return v;
}

int32_t id_of(const BpeVocab& v, const std::string& token) {
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.tokens[i] == token) return static_cast<int32_t>(i);
  return -1;
}

// A valid tokenizer.json: the 256 byte tokens, "Ġw" (256), one merge, the added token "</s>" (257).
nlohmann::json tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  vocab["\u0120w"] = 256;
  return {{"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"added_tokens", {{{"id", 257}, {"content", "</s>"}, {"special", true}}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"\u0120 w"}}}}};
}

// The message from_tokenizer_json refuses `text` with, or "accepted".
std::string refusal_of(const std::string& text) {
  const fs::path dir = fs::temp_directory_path() /
                       ("ferret_test_tokenizer_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << text;
  std::string message = "accepted";
  try {
    BpeTokenizer::from_tokenizer_json((dir / "tokenizer.json").string());
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  fs::remove_all(dir);
  return message;
}

}  // namespace

TEST(BpePreTokenizer, Gpt2SplitsLikeTheRegexIncludingTrailingSpaceLookahead) {
  // Expected pieces: what `tokenizers`' ByteLevel(use_regex=True) returns for the same text.
  EXPECT_EQ(pieces("gpt2", "Hello   world\u00a0 x\n\n  y 's"),
            (std::vector<std::string>{"Hello", "  ", " world", "\u00a0", " x", "\n\n ", " y", " '", "s"}));
  EXPECT_EQ(pieces("gpt2", "I'm 123abc!? end  "),
            (std::vector<std::string>{"I", "'m", " 123", "abc", "!?", " end", "  "}));
  EXPECT_EQ(pieces("gpt2", "Grüße 你好"), (std::vector<std::string>{"Grüße", " 你好"}));
}

TEST(BpePreTokenizer, SmolLmIsolatesEveryDigitIncludingNonAscii) {
  EXPECT_EQ(pieces("smollm", "a١٢3 45x²"),
            (std::vector<std::string>{"a", "١", "٢", "3", " ", "4", "5", "x", "²"}));
  // The GPT-2 regex sees only the stretch before a digit: "a " ends with a lone trailing space.
  EXPECT_EQ(pieces("smollm", "ab  7"), (std::vector<std::string>{"ab", "  ", "7"}));
}

TEST(BpePreTokenizer, Llama3GroupsDigitsByThreeAndKeepsNewlinesTogether) {
  EXPECT_EQ(pieces("llama3", "I'M 1234567 ok\n\n  x"),
            (std::vector<std::string>{"I", "'M", " ", "123", "456", "7", " ok", "\n\n", " ", " x"}));
  EXPECT_EQ(pieces("llama3", "(hello)...\r\nworld"), (std::vector<std::string>{"(hello", ")...\r\n", "world"}));
}

TEST(BpePreTokenizer, PiecesCoverTheTextExactly) {
  const std::string text = "Mixed: ÀÉÎ 3.14 — ok?\t\tdone \xF0\x9F\x98\x80 x\xFFy";  // also an invalid byte
  for (const char* pre : {"gpt2", "llama3", "smollm"}) {
    std::string joined;
    for (const auto& p : pieces(pre, text)) {
      EXPECT_FALSE(p.empty()) << pre;
      joined += p;
    }
    EXPECT_EQ(joined, text) << pre;
  }
}

TEST(BpeTokenizer, MergesApplyLowestRankFirstAndLeftmostOnTies) {
  // "a a" (rank 0) beats "aa a" (rank 1): "aaa" → "aa" + "a" (leftmost "a a" first), then "aa a" → "aaa".
  BpeVocab v = small_vocab({"aa", "aaa", "ab"}, {"a a", "aa a", "a b"});
  const BpeTokenizer tok(v);
  EXPECT_EQ(tok.encode("aaa"), (std::vector<int32_t>{id_of(v, "aaa")}));
  EXPECT_EQ(tok.encode("aaaa"), (std::vector<int32_t>{id_of(v, "aa"), id_of(v, "aa")}));
  // "a b" has a higher rank than "a a": in "aab" the "a a" merge wins and "ab" never forms.
  EXPECT_EQ(tok.encode("aab"), (std::vector<int32_t>{id_of(v, "aa"), 'b'}));
  // Merges never cross pieces: " a" and "a" are separate pieces of "a a".
  EXPECT_EQ(tok.encode("a a"), (std::vector<int32_t>{'a', id_of(v, byte_char(' ')), 'a'}));
}

TEST(BpeTokenizer, AddedTokensAreCutOutLongestFirstAndSkippedInDecode) {
  BpeVocab v = small_vocab({}, {}, {"<|im_start|>", "<|im_end|>", "<|im"});
  v.eos_id = id_of(v, "<|im_end|>");
  const BpeTokenizer tok(v);
  const int32_t start = id_of(v, "<|im_start|>");
  EXPECT_EQ(tok.encode("<|im_start|>u"), (std::vector<int32_t>{start, 'u'}));
  EXPECT_EQ(tok.encode("x<|im"), (std::vector<int32_t>{'x', id_of(v, "<|im")}));
  EXPECT_EQ(tok.special_id("<|im_start|>"), start);
  EXPECT_FALSE(tok.special_id("u").has_value());
  // Decode: specials skipped, stops at EOS.
  const std::vector<int32_t> ids = {start, 'h', 'i', tok.eos_id(), 'z'};
  EXPECT_EQ(tok.decode(ids), "hi");
  EXPECT_THROW(tok.decode(std::vector<int32_t>{tok.vocab_size()}), std::invalid_argument);
}

TEST(BpeTokenizer, EncodeDecodeRoundTripsAnyBytes) {
  const BpeVocab v = small_vocab({"Ġt", "Ġth", "Ġthe"}, {"Ġ t", "Ġt h", "Ġth e"});
  const BpeTokenizer tok(v);
  const std::string text = "in the end: Grüße, 你好 \xF0\x9F\x98\x80\n\tthe\xFF\xC3(";
  const auto ids = tok.encode(text);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), id_of(v, "Ġthe")), 1);  // " the" merged; "the" at a line start not
}

TEST(BpeTokenizer, BadVocabulariesAreRejectedNamingTheProblem) {
  auto message = [](const BpeVocab& v) {
    try {
      BpeTokenizer tok(v);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(small_vocab({}, {"a q"})).find("'a q' names a token that is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(message(small_vocab({}, {"ab"})).find("is not 'left right'"), std::string::npos);
  EXPECT_NE(message(small_vocab({}, {}, {}, "bert")).find("'bert' is unsupported"), std::string::npos);
  BpeVocab bad_unk = small_vocab({}, {});
  bad_unk.unk_id = 1000;
  EXPECT_NE(message(bad_unk).find("1000 is outside the vocabulary"), std::string::npos);
}

TEST(BpeTokenizer, ByteWithoutATokenIsDroppedOrBecomesUnk) {
  // Real vocabularies lack some control bytes; `tokenizers` drops them unless the model has an unk_token.
  BpeVocab v = small_vocab({}, {});
  v.tokens[7] = "";
  EXPECT_EQ(BpeTokenizer(v).encode("a\x07" "b"), (std::vector<int32_t>{'a', 'b'}));
  v.unk_id = 'x';
  EXPECT_EQ(BpeTokenizer(v).encode("a\x07" "b"), (std::vector<int32_t>{'a', 'x', 'b'}));
}

TEST(BpeTokenizer, ReadsTokenizerJsonWithConfigBeside) {
  const fs::path dir = fs::temp_directory_path() / "ferret_test_tokenizer_json";
  fs::create_directories(dir);
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  vocab["Ġw"] = 256;
  vocab["Ġwo"] = 257;
  nlohmann::json tj = {
      {"version", "1.0"},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"post_processor", nullptr},
      {"added_tokens", {{{"id", 258}, {"content", "<s>"}, {"special", true}}, {{"id", 259}, {"content", "</s>"}, {"special", true}}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab},
                 {"merges", nlohmann::json::array({"Ġ w", nlohmann::json::array({"Ġw", "o"})})}}}};
  std::ofstream(dir / "tokenizer.json") << tj.dump();
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"add_bos_token": true, "bos_token": "<s>", "eos_token": {"content": "</s>"}, "chat_template": "{{x}}"})";
  const BpeTokenizer tok = BpeTokenizer::from_tokenizer_json((dir / "tokenizer.json").string());
  EXPECT_EQ(tok.vocab_size(), 260);
  EXPECT_EQ(tok.bos_id(), 258);
  EXPECT_EQ(tok.eos_id(), 259);
  EXPECT_TRUE(tok.has_chat_template());
  EXPECT_EQ(tok.encode("a wo</s>"), (std::vector<int32_t>{'a', 257, 259}));

  tj["pre_tokenizer"] = {{"type", "Whitespace"}};
  std::ofstream(dir / "tokenizer.json") << tj.dump();
  try {
    BpeTokenizer::from_tokenizer_json((dir / "tokenizer.json").string());
    ADD_FAILURE() << "a Whitespace pre-tokenizer was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("pre_tokenizer"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(BpeTokenizer, TokenizerJsonIdsMustBeDistinctIntegersInRange) {
  EXPECT_EQ(refusal_of(tiny_tokenizer_json().dump()), "accepted");
  nlohmann::json tj = tiny_tokenizer_json();
  tj["model"]["vocab"]["a"] = 97.5;  // was truncated to 97
  EXPECT_NE(refusal_of(tj.dump()).find("model.vocab id 97.5 of token 'a' is invalid (allowed: integers 0..257"),
            std::string::npos);
  tj = tiny_tokenizer_json();
  tj["model"]["vocab"]["\u0120w"] = 97;  // was accepted: "a" lost its id
  EXPECT_NE(refusal_of(tj.dump()).find("model.vocab gives id 97 to both"), std::string::npos);
  tj = tiny_tokenizer_json();
  tj["model"]["vocab"]["\u0120w"] = 1 << 24;  // was accepted: a table of 2^24 tokens (512 MiB) for a 3 KiB file
  EXPECT_NE(refusal_of(tj.dump()).find("model.vocab id 16777216 of token"), std::string::npos);
  tj = tiny_tokenizer_json();
  tj["added_tokens"][0]["id"] = 1e300;  // converting it to an integer was undefined behaviour
  EXPECT_NE(refusal_of(tj.dump()).find("added_tokens id 1e+300 of token '</s>' is invalid"), std::string::npos);
  tj = tiny_tokenizer_json();
  tj["added_tokens"][0].erase("content");
  EXPECT_NE(refusal_of(tj.dump()).find("added_tokens entry"), std::string::npos);
}

TEST(BpeTokenizer, DeeplyNestedTokenizerJsonIsRefused) {
  // Copying or printing a value nested 100 000 deep recursed until the stack overflowed.
  nlohmann::json tj = tiny_tokenizer_json();
  tj["pre_tokenizer"] = "DEEP";
  std::string text = tj.dump();
  text.replace(text.find("\"DEEP\""), 6, std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(refusal_of(text).find("nests JSON deeper than 64 levels"), std::string::npos);
}

TEST(BpeTokenizer, ValuesOfTheWrongJsonTypeNameTheFile) {
  // Was nlohmann's bare "[json.exception.type_error.302] type must be string, but is number".
  nlohmann::json tj = tiny_tokenizer_json();
  tj["decoder"]["type"] = 5;
  const std::string message = refusal_of(tj.dump());
  EXPECT_NE(message.find("tokenizer.json': unexpected JSON value: type must be string, but is number"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;

  const fs::path dir = fs::temp_directory_path() / "ferret_test_tokenizer_config_type";
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tiny_tokenizer_json().dump();
  std::ofstream(dir / "tokenizer_config.json") << R"({"add_bos_token": 1, "bos_token": "</s>"})";
  std::string config_message = "accepted";
  try {
    BpeTokenizer::from_tokenizer_json((dir / "tokenizer.json").string());
  } catch (const std::runtime_error& e) {
    config_message = e.what();
  }
  fs::remove_all(dir);
  EXPECT_NE(config_message.find("tokenizer_config.json': unexpected JSON value: type must be boolean, but is number"),
            std::string::npos)
      << config_message;
}
