// defines: BpeTokenizer's encode/decode — byte-level BPE (data/tokenizer_json.cpp reads tokenizer.json)
//
// Byte-level BPE, bit-compatible with Hugging Face `tokenizers` for GPT-2, LLaMA-3 and SmolLM2 models.
//
// encode(text):
//   1. added/special tokens are cut out first (leftmost match, longest at a position) and emitted as is;
//   2. each remaining stretch is split by the model's pre-tokenizer regex. The regexes are matched by
//      hand (below), alternative by alternative in the regex's order, including the backtracking of
//      `\s+(?!\S)` and `\s*[\r\n]+`, so the pieces equal Oniguruma's;
//   3. each piece's UTF-8 bytes become byte-level symbols (GPT-2's byte→unicode map, one vocab id per
//      byte), and merges are applied lowest rank first, leftmost first on ties (a heap over adjacent
//      pairs: O(n log n) per piece instead of the naive O(n²));
//   4. pieces seen before come from a cache: instruction data repeats its words constantly.

#include "data/bpe_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <stdexcept>
#include <unordered_set>

#include "data/tokenizer_json.hpp"
#include "data/unicode_tables.hpp"

namespace ferret {
namespace {

using unicode::CharClass;
using json = nlohmann::json;

// ---- UTF-8 ---------------------------------------------------------------------------------------

struct CodePoint {
  char32_t cp;
  uint32_t byte_begin;  // offset in the text; the code point ends where the next begins
};

// Decodes `text`; a byte that does not start a valid sequence becomes its own code point U+FFFD-like
// "other" character (kept as its raw byte), so invalid UTF-8 still encodes and round-trips.
std::vector<CodePoint> decode_utf8(std::string_view text) {
  std::vector<CodePoint> out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    int len = 0;
    char32_t cp = 0;
    if (c < 0x80) { len = 1; cp = c; }
    else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (ok && len > 1) {  // reject overlong forms, surrogates and out-of-range values
      static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (!ok) { len = 1; cp = 0xFFFD; }
    out.push_back({cp, static_cast<uint32_t>(i)});
    i += static_cast<size_t>(len);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// GPT-2's byte→unicode map: printable Latin-1 bytes stand for themselves, the other 68 bytes are
// shifted to U+0100.. in byte order, so every byte is a visible character in vocab strings.
std::array<char32_t, 256> byte_to_unicode() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

// ---- pre-tokenizers ------------------------------------------------------------------------------

// The code points of one stretch of text between special tokens, with their classes.
class Chars {
 public:
  explicit Chars(std::string_view text) : cps_(decode_utf8(text)), size_(text.size()) {
    cls_.reserve(cps_.size());
    for (const CodePoint& c : cps_) cls_.push_back(unicode::classify(c.cp));
  }
  size_t size() const { return cps_.size(); }
  char32_t cp(size_t i) const { return cps_[i].cp; }
  bool letter(size_t i) const { return i < size() && cls_[i] == CharClass::kLetter; }
  bool number(size_t i) const { return i < size() && cls_[i] == CharClass::kNumber; }
  bool space(size_t i) const { return i < size() && cls_[i] == CharClass::kSpace; }
  bool other(size_t i) const { return i < size() && cls_[i] == CharClass::kOther; }
  bool is(size_t i, char32_t c) const { return i < size() && cps_[i].cp == c; }
  bool newline(size_t i) const { return is(i, '\r') || is(i, '\n'); }
  size_t byte(size_t i) const { return i < size() ? cps_[i].byte_begin : size_; }

 private:
  std::vector<CodePoint> cps_;
  std::vector<CharClass> cls_;
  size_t size_;
};

size_t skip_while(const Chars& c, size_t i, bool (Chars::*pred)(size_t) const) {
  while ((c.*pred)(i)) ++i;
  return i;
}

// `'s|'t|'re|'ve|'m|'ll|'d` at i (ASCII case-insensitively when `fold`); the match end, or i.
size_t match_contraction(const Chars& c, size_t i, bool fold) {
  if (!c.is(i, '\'')) return i;
  auto at = [&](size_t k, char ch) {
    if (k >= c.size()) return false;
    char32_t x = c.cp(k);
    if (fold && x >= 'A' && x <= 'Z') x += 'a' - 'A';
    return x == static_cast<char32_t>(ch);
  };
  if (at(i + 1, 's') || at(i + 1, 't') || at(i + 1, 'm') || at(i + 1, 'd')) return i + 2;
  if ((at(i + 1, 'r') && at(i + 2, 'e')) || (at(i + 1, 'v') && at(i + 2, 'e')) || (at(i + 1, 'l') && at(i + 2, 'l')))
    return i + 3;
  return i;
}

// `\s+(?!\S)|\s+` at i (i is whitespace): the whole run when it ends the text or is one character,
// else the run minus its last character (which then leads the next word, e.g. " world").
size_t match_trailing_space(const Chars& c, size_t i) {
  const size_t end = skip_while(c, i, &Chars::space);
  if (end == c.size() || end - i == 1) return end;
  return end - 1;
}

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t gpt2_match(const Chars& c, size_t i) {
  if (size_t e = match_contraction(c, i, false); e != i) return e;
  const size_t j = c.is(i, ' ') ? i + 1 : i;
  if (c.letter(j)) return skip_while(c, j, &Chars::letter);
  if (c.number(j)) return skip_while(c, j, &Chars::number);
  if (c.other(j)) return skip_while(c, j, &Chars::other);
  return match_trailing_space(c, i);  // cps[i] is whitespace here
}

// LLaMA-3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//          \s*[\r\n]+|\s+(?!\S)|\s+
size_t llama3_match(const Chars& c, size_t i) {
  if (size_t e = match_contraction(c, i, true); e != i) return e;
  if (c.letter(i)) return skip_while(c, i, &Chars::letter);
  if (!c.newline(i) && !c.number(i) && c.letter(i + 1)) return skip_while(c, i + 1, &Chars::letter);
  if (c.number(i)) return std::min(skip_while(c, i, &Chars::number), i + 3);
  const size_t j = c.is(i, ' ') ? i + 1 : i;
  if (c.other(j)) return skip_while(c, skip_while(c, j, &Chars::other), &Chars::newline);
  // \s*[\r\n]+: \s* backtracks to the run's last newline, [\r\n]+ takes it.
  const size_t end = skip_while(c, i, &Chars::space);
  for (size_t k = end; k > i; --k)
    if (c.newline(k - 1)) return k;
  return match_trailing_space(c, i);
}

enum class PreTokenizer { kGpt2, kLlama3, kSmolLm };

PreTokenizer parse_pre_tokenizer(const std::string& name) {
  if (name == "gpt2") return PreTokenizer::kGpt2;
  if (name == "llama3") return PreTokenizer::kLlama3;
  if (name == "smollm") return PreTokenizer::kSmolLm;
  throw std::invalid_argument("BPE pre-tokenizer '" + name + "' is unsupported (allowed: gpt2, llama3, smollm)");
}

using Piece = std::pair<size_t, size_t>;  // [byte_begin, byte_end) in the text

// Appends the pieces of `text` (offsets shifted by `base`) to `out`.
void pre_tokenize(PreTokenizer kind, std::string_view text, size_t base, std::vector<Piece>& out) {
  const Chars c(text);
  size_t i = 0;
  while (i < c.size()) {
    if (kind == PreTokenizer::kSmolLm && !c.number(i)) {
      // The GPT-2 regex runs on the stretch up to the next digit only (its lookahead cannot see past it).
      size_t stop = i;
      while (stop < c.size() && !c.number(stop)) ++stop;
      pre_tokenize(PreTokenizer::kGpt2, text.substr(c.byte(i), c.byte(stop) - c.byte(i)), base + c.byte(i), out);
      i = stop;
      continue;
    }
    size_t e;
    if (kind == PreTokenizer::kLlama3) e = llama3_match(c, i);
    else if (kind == PreTokenizer::kSmolLm) e = i + 1;  // Digits(individual_digits): each \p{N} alone
    else e = gpt2_match(c, i);
    out.emplace_back(base + c.byte(i), base + c.byte(e));
    i = e;
  }
}

}  // namespace

// ---- the tokenizer -------------------------------------------------------------------------------

struct BpeTokenizer::Impl {
  BpeVocab vocab;
  PreTokenizer pre = PreTokenizer::kGpt2;
  bool ignore_merges = false;  // LLaMA-3: a piece that is a whole vocab entry is not merged
  std::unordered_map<std::string, int32_t> id_of;        // token string → id
  std::array<int32_t, 256> byte_id{};                    // byte → id of its byte-level symbol
  std::array<char32_t, 256> byte_char{};                 // byte → its byte-level character
  std::unordered_map<char32_t, uint8_t> char_byte;       // the inverse map, for decode
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merge;  // (left, right) → (rank, merged id)
  std::vector<std::string> specials_by_length;           // added tokens, longest first
  std::array<bool, 256> special_first{};                 // bytes that start an added token
  std::unordered_set<int32_t> special;                   // ids of added tokens

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void build() {
    pre = parse_pre_tokenizer(vocab.pre_tokenizer);
    const auto& tokens = vocab.tokens;
    for (size_t id = 0; id < tokens.size(); ++id)
      if (!tokens[id].empty()) id_of.try_emplace(tokens[id], static_cast<int32_t>(id));
    byte_char = byte_to_unicode();
    for (int b = 0; b < 256; ++b) {
      std::string s;
      append_utf8(s, byte_char[b]);
      const auto it = id_of.find(s);
      byte_id[b] = it == id_of.end() ? vocab.unk_id : it->second;
      char_byte[byte_char[b]] = static_cast<uint8_t>(b);
    }
    merge.reserve(vocab.merges.size());
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
      const std::string& m = vocab.merges[rank];
      const size_t sp = m.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 == m.size())
        throw std::invalid_argument("BPE merge #" + std::to_string(rank) + " '" + m + "' is not 'left right'");
      const std::string left = m.substr(0, sp), right = m.substr(sp + 1);
      const auto a = id_of.find(left), b = id_of.find(right), ab = id_of.find(left + right);
      if (a == id_of.end() || b == id_of.end() || ab == id_of.end())
        throw std::invalid_argument("BPE merge #" + std::to_string(rank) + " '" + m +
                                    "' names a token that is not in the vocabulary");
      merge.try_emplace(pair_key(a->second, b->second), static_cast<int32_t>(rank), ab->second);
    }
    for (int32_t id : vocab.special_ids) {
      if (id < 0 || static_cast<size_t>(id) >= tokens.size() || tokens[id].empty())
        throw std::invalid_argument("BPE special token id " + std::to_string(id) + " is not in the vocabulary");
      special.insert(id);
      specials_by_length.push_back(tokens[id]);
      special_first[static_cast<unsigned char>(tokens[id][0])] = true;
    }
    std::stable_sort(specials_by_length.begin(), specials_by_length.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (int32_t id : {vocab.bos_id, vocab.eos_id, vocab.unk_id})
      if (id < -1 || id >= static_cast<int32_t>(tokens.size()))
        throw std::invalid_argument("BPE BOS/EOS id " + std::to_string(id) + " is outside the vocabulary");
  }

  // Merges the byte-level symbols of one piece (see the file comment).
  void bpe_piece(std::string_view piece, std::vector<int32_t>& out) const {
    if (ignore_merges) {
      std::string whole;
      for (unsigned char b : piece) append_utf8(whole, byte_char[b]);
      if (const auto it = id_of.find(whole); it != id_of.end()) {
        out.push_back(it->second);
        return;
      }
    }
    std::vector<int32_t> id;
    id.reserve(piece.size());
    for (unsigned char b : piece)
      if (byte_id[b] >= 0) id.push_back(byte_id[b]);  // a byte without a token (and no unk) is dropped
    const int n = static_cast<int>(id.size());
    std::vector<int> next(n), prev(n);
    for (int k = 0; k < n; ++k) {
      next[k] = k + 1 < n ? k + 1 : -1;
      prev[k] = k - 1;
    }
    struct Candidate {
      int32_t rank;
      int pos;
      int32_t left, right;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto push = [&](int l) {
      if (l < 0 || next[l] < 0) return;
      const auto it = merge.find(pair_key(id[l], id[next[l]]));
      if (it != merge.end()) heap.push({it->second.first, l, id[l], id[next[l]]});
    };
    for (int k = 0; k + 1 < n; ++k) push(k);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      const int r = next[c.pos];
      // Stale: one side was merged away or changed since the pair was queued.
      if (id[c.pos] != c.left || r < 0 || id[r] != c.right) continue;
      id[c.pos] = merge.at(pair_key(c.left, c.right)).second;
      id[r] = -1;
      next[c.pos] = next[r];
      if (next[r] >= 0) prev[next[r]] = c.pos;
      push(prev[c.pos]);
      push(c.pos);
    }
    for (int k = n > 0 ? 0 : -1; k >= 0; k = next[k]) out.push_back(id[k]);
  }

  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
    std::vector<Piece> pieces;
    pre_tokenize(pre, text, 0, pieces);
    std::vector<int32_t> ids;
    for (const auto& [b, e] : pieces) {
      const std::string key(text.substr(b, e - b));
      {
        std::lock_guard lock(cache_mutex);
        if (const auto it = cache.find(key); it != cache.end()) {
          out.insert(out.end(), it->second.begin(), it->second.end());
          continue;
        }
      }
      ids.clear();
      bpe_piece(key, ids);
      out.insert(out.end(), ids.begin(), ids.end());
      std::lock_guard lock(cache_mutex);
      if (cache.size() > 200000) cache.clear();  // bounded: a long run over novel text cannot grow it forever
      cache.emplace(key, ids);
    }
  }

  // Length of the longest added token starting at text[pos], or 0.
  size_t special_at(std::string_view text, size_t pos, int32_t& id) const {
    if (!special_first[static_cast<unsigned char>(text[pos])]) return 0;
    for (const std::string& s : specials_by_length)
      if (text.compare(pos, s.size(), s) == 0) {
        id = id_of.at(s);
        return s.size();
      }
    return 0;
  }
};

BpeTokenizer::BpeTokenizer(BpeVocab vocab) : impl_(std::make_unique<Impl>()) {
  impl_->vocab = std::move(vocab);
  impl_->build();
}

BpeTokenizer::~BpeTokenizer() = default;
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  size_t start = 0;
  if (impl_->specials_by_length.empty()) {
    impl_->encode_ordinary(text, out);
    return out;
  }
  for (size_t pos = 0; pos < text.size();) {
    int32_t id = -1;
    const size_t len = impl_->special_at(text, pos, id);
    if (len == 0) {
      ++pos;
      continue;
    }
    impl_->encode_ordinary(text.substr(start, pos - start), out);
    out.push_back(id);
    pos += len;
    start = pos;
  }
  impl_->encode_ordinary(text.substr(start), out);
  return out;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  const Impl& m = *impl_;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size())
      throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary 0.." +
                                  std::to_string(vocab_size() - 1));
    if (id == m.vocab.eos_id) break;
    if (m.special.count(id)) continue;
    for (const CodePoint& c : decode_utf8(m.vocab.tokens[id])) {
      const auto it = m.char_byte.find(c.cp);
      if (it != m.char_byte.end()) out += static_cast<char>(it->second);
      else append_utf8(out, c.cp);  // not a byte-level character: kept as text
    }
  }
  return out;
}

int32_t BpeTokenizer::vocab_size() const { return static_cast<int32_t>(impl_->vocab.tokens.size()); }
int32_t BpeTokenizer::bos_id() const { return impl_->vocab.bos_id; }
int32_t BpeTokenizer::eos_id() const { return impl_->vocab.eos_id; }
bool BpeTokenizer::has_chat_template() const { return !impl_->vocab.chat_template.empty(); }

std::optional<int32_t> BpeTokenizer::special_id(std::string_view token) const {
  const auto it = impl_->id_of.find(std::string(token));
  if (it == impl_->id_of.end() || !impl_->special.count(it->second)) return std::nullopt;
  return it->second;
}

std::vector<std::string_view> bpe_pre_tokenize(std::string_view pre_tokenizer, std::string_view text) {
  std::vector<Piece> pieces;
  pre_tokenize(parse_pre_tokenizer(std::string(pre_tokenizer)), text, 0, pieces);
  std::vector<std::string_view> out;
  for (const auto& [b, e] : pieces) out.push_back(text.substr(b, e - b));
  return out;
}

BpeTokenizer BpeTokenizer::from_tokenizer_json(const std::string& path) {
  TokenizerJson read = read_tokenizer_json(path);
  BpeTokenizer tok(std::move(read.vocab));
  tok.impl_->ignore_merges = read.ignore_merges;
  return tok;
}

}  // namespace ferret
