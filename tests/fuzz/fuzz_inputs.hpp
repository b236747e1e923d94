#pragma once
// defines: Rng, Field, Seed, the seed inputs and the mutations of tests/fuzz/fuzz_readers.cpp
//
// The seeds describe one tiny LlamaForCausalLM (hidden 8, one layer, 261 tokens: the 256 byte-level
// tokens, three merges, <|im_start|> and <|im_end|>) in every format the readers take, so the
// unmutated inputs pass every check, including open_pretrained's. Everything is deterministic.

#include <cstdint>
#include <string>
#include <vector>

namespace ferret::fuzz {

// splitmix64: the same stream on every platform; each iteration seeds its own, so one replays alone.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool one_in(uint64_t n) { return below(n) == 0; }
};

struct Field {
  size_t offset;
  int width;  // bytes: 1, 4 or 8
};

// A binary seed and the integer fields (lengths, counts, offsets, types, dims) written into it.
struct Seed {
  std::string bytes;
  std::vector<Field> fields;
};

Seed gguf_seed();                  // GGUF v3: llama metadata, tokenizer.ggml.*, F32/F16/Q8_0 tensors
std::string safetensors_seed();    // model.safetensors: F32/F16/BF16 tensors
std::string config_json_seed();    // config.json beside it
std::string tokenizer_json_seed(); // tokenizer.json: byte-level BPE, SmolLM2's pre-tokenizer
extern const char* const kTokenizerConfig;  // tokenizer_config.json

// Overwrites one of `fields` (offsets in the unmutated layout: apply these first) with a boundary value.
void mutate_field(std::string& s, const std::vector<Field>& fields, Rng& r);
// One byte-level mutation of s[from, to); `to` follows length changes.
void mutate_bytes(std::string& s, size_t from, size_t& to, Rng& r);
// One token-level mutation of the JSON text s[from, to); `to` follows length changes.
void mutate_json(std::string& s, size_t from, size_t& to, Rng& r);
// n mutations of a safetensors file: its header length, JSON header or data.
void mutate_safetensors(std::string& s, int n, Rng& r);

}  // namespace ferret::fuzz
