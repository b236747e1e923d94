// defines: fuzz_readers — seeded mutation fuzzing of the GGUF, safetensors and tokenizer.json readers
//
// A model file is untrusted input: ferret must refuse a corrupt or malicious one with an exception,
// never crash or allocate without bound. Each subcommand builds a small valid input in memory, checks
// that the readers accept it, then feeds them deterministic mutations of it (bit flips, byte
// overwrites, truncation, insertion, boundary values in length/count/offset fields, JSON token swaps).
// A std::exception is a refusal. Anything else fails: a signal or sanitizer report kills the process
// (the input stays on disk and the line to replay it is printed first); an input that makes the
// process hold more than kMemoryCap bytes, or a reader that accepts a tensor larger than its file,
// exits 1. Plain C++, no libFuzzer (GCC builds ferret); ctest runs it as fuzz_gguf/_safetensors/_tokenizer.

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "data/bpe_tokenizer.hpp"
#include "fuzz_inputs.hpp"
#include "model/pretrained.hpp"
#include "model/weights.hpp"

#ifdef FERRET_FUZZ_SANITIZERS
#include <sanitizer/common_interface_defs.h>
#endif

namespace fs = std::filesystem;
using namespace ferret::fuzz;

// ---- memory accounting -------------------------------------------------------------------------
// operator new is replaced so that every input gets a budget: the inputs are a few KiB, so holding
// more than kMemoryCap while reading one means a count or size from the file was trusted.
namespace {
constexpr size_t kMemoryCap = size_t{256} << 20;
std::atomic<size_t> g_live{0};
std::atomic<size_t> g_limit{SIZE_MAX};
char g_note[1024] = "fuzz_readers: died before the first input\n";  // printed when the process dies

void print_note() { [[maybe_unused]] ssize_t n = ::write(2, g_note, std::strlen(g_note)); }

[[noreturn]] void over_budget(size_t request) {
  char line[256];
  std::snprintf(line, sizeof line, "fuzz_readers: FAIL: a request for %zu bytes with %zu live exceeds the %zu MiB cap\n",
                request, g_live.load(), kMemoryCap >> 20);
  [[maybe_unused]] ssize_t n = ::write(2, line, std::strlen(line));
  print_note();
  std::_Exit(1);
}

void* counted_alloc(size_t n) {
  const size_t live = g_live.load(std::memory_order_relaxed), limit = g_limit.load(std::memory_order_relaxed);
  if (n > limit || live > limit - n) over_budget(n);
  void* p = std::malloc(n ? n : 1);
  if (p) g_live.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) {
  if (!p) return;
  g_live.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

#ifdef __SANITIZE_ADDRESS__
// Backstops for allocations that bypass operator new: too large a malloc is a report, not a nullptr.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=0:max_allocation_size_mb=2048"; }
#endif
#ifdef FERRET_FUZZ_SANITIZERS
// GCC links UBSan as its own runtime, whose death callbacks are not ASan's: a UBSan report ends in
// abort() instead, which the SIGABRT handler below turns into the replay note.
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1:abort_on_error=1"; }
#endif

namespace {

// ---- running the readers -----------------------------------------------------------------------

struct Run {
  std::string reader;
  uint64_t seed = 1, iteration = 0;
  fs::path dir;
  std::string last_refusal;
};
Run g_run;

[[noreturn]] void fail_input(const std::string& what) {
  std::fprintf(stderr, "fuzz %s: FAIL: %s\n", g_run.reader.c_str(), what.c_str());
  print_note();
  std::exit(1);
}

// True when f ran to the end, false when it refused the input with a std::exception.
template <typename F>
bool accepts(F&& f) {
  try {
    f();
    return true;
  } catch (const std::bad_alloc&) {
    fail_input("std::bad_alloc (an allocation sized from the file?)");
  } catch (const std::exception& e) {
    g_run.last_refusal = e.what();
    return false;
  } catch (...) {
    fail_input("the reader threw something that is not a std::exception");
  }
}

// Reads every tensor the file lists to fp32; a tensor larger than its file was never checked.
void read_every_tensor(const ferret::WeightFile& w, uint64_t file_bytes) {
  const uint64_t most = 4 * file_bytes + 64;  // Q4_0 packs 32 elements in 18 bytes; nothing packs tighter
  for (const ferret::TensorInfo& t : w.tensors()) {
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || (d != 0 && n > most / static_cast<uint64_t>(d)))
        fail_input("the reader accepted tensor '" + t.name + "' larger than its file of " + std::to_string(file_bytes) + " bytes");
      n *= static_cast<uint64_t>(d);
    }
    std::vector<float> out(n);
    w.read_fp32(t.name, out);
  }
}

void exercise(const ferret::Tokenizer& tok) {
  const std::vector<int32_t> ids = tok.encode("<|im_start|>the theme 123 Gr\xC3\xBC\xC3\x9F" "e\n\t x<|im_end|>\xFF");
  tok.decode(ids);
  tok.special_id("<|im_end|>");
}

bool run_gguf(const fs::path& dir) {
  const std::string path = (dir / "model.gguf").string();
  bool ok = accepts([&] {
    const auto w = ferret::open_gguf(path);
    read_every_tensor(*w, fs::file_size(path));
    ferret::check_llama_tensors(*w, w->model_config());
  });
  ok &= accepts([&] { exercise(ferret::BpeTokenizer(ferret::bpe_vocab_from_gguf(path))); });
  ok &= accepts([&] { ferret::open_pretrained(path, 16); });
  return ok;
}

bool run_safetensors(const fs::path& dir) {
  bool ok = accepts([&] {
    const auto w = ferret::open_safetensors(dir.string());
    read_every_tensor(*w, fs::file_size(dir / "model.safetensors"));
    ferret::check_llama_tensors(*w, w->model_config());
  });
  ok &= accepts([&] { ferret::open_pretrained(dir.string(), 16); });
  return ok;
}

bool run_tokenizer(const fs::path& dir) {
  return accepts([&] { exercise(ferret::BpeTokenizer::from_tokenizer_json((dir / "tokenizer.json").string())); });
}

using Files = std::vector<std::pair<std::string, std::string>>;  // file name → contents

// The input of one iteration: the seed files, `n` mutations applied (none for the seed check).
Files make_input(Rng& r, int n) {
  if (g_run.reader == "gguf") {
    static const Seed seed = gguf_seed();
    std::string s = seed.bytes;
    const int fields = static_cast<int>(r.below(static_cast<uint64_t>(n) + 1));
    for (int i = 0; i < fields; ++i) mutate_field(s, seed.fields, r);
    size_t to = s.size();
    for (int i = fields; i < n; ++i) mutate_bytes(s, 0, to, r);
    return {{"model.gguf", s}};
  }
  Files files = {{"tokenizer.json", tokenizer_json_seed()}, {"tokenizer_config.json", kTokenizerConfig}};
  if (g_run.reader == "safetensors") files.insert(files.end(), {{"config.json", config_json_seed()}, {"model.safetensors", safetensors_seed()}});
  if (n == 0) return files;
  // Mostly the primary file; now and then the JSON beside it (config.json / tokenizer_config.json).
  const bool st = g_run.reader == "safetensors", beside = r.one_in(8);
  std::string& target = files[st ? (beside ? 2 : 3) : (beside ? 1 : 0)].second;
  if (st && !beside) {
    mutate_safetensors(target, n, r);
    return files;
  }
  size_t to = target.size();
  for (int i = 0; i < n; ++i) r.below(10) < 3 ? mutate_bytes(target, 0, to, r) : mutate_json(target, 0, to, r);
  return files;
}

bool run_input(const Files& files) {
  for (const auto& [name, bytes] : files) {
    std::ofstream out(g_run.dir / name, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out.flush()) fail_input("cannot write " + (g_run.dir / name).string());
  }
  std::snprintf(g_note, sizeof g_note,
                "fuzz %s: the process died on iteration %llu (seed %llu): its input is kept in %s; replay it with "
                "`fuzz_readers %s --seed %llu --only %llu`\n",
                g_run.reader.c_str(), static_cast<unsigned long long>(g_run.iteration),
                static_cast<unsigned long long>(g_run.seed), g_run.dir.c_str(), g_run.reader.c_str(),
                static_cast<unsigned long long>(g_run.seed), static_cast<unsigned long long>(g_run.iteration));
  g_limit = g_live.load() + kMemoryCap;
  const bool ok = g_run.reader == "gguf" ? run_gguf(g_run.dir)
                  : g_run.reader == "safetensors" ? run_safetensors(g_run.dir) : run_tokenizer(g_run.dir);
  g_limit = SIZE_MAX;
  return ok;
}

void on_deadly_signal(int sig) {
  print_note();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// The note reaches stderr however the process dies: ASan reports call the death callback, UBSan
// reports and abort() raise SIGABRT; without ASan (which handles the other deadly signals itself) a
// handler on its own stack catches crashes and stack overflows.
void install_crash_note() {
#ifdef FERRET_FUZZ_SANITIZERS
  __sanitizer_set_death_callback(print_note);
#endif
  struct sigaction abort_sa {};
  abort_sa.sa_handler = on_deadly_signal;
  ::sigaction(SIGABRT, &abort_sa, nullptr);  // ASan leaves SIGABRT alone
#ifndef __SANITIZE_ADDRESS__
  static char alt_stack[1 << 16];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_deadly_signal;
  sa.sa_flags = SA_ONSTACK;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::sigaction(sig, &sa, nullptr);
  // ASan reserves terabytes of shadow address space, so only the plain build gets an address-space cap.
  const rlimit cap{rlim_t{4} << 30, rlim_t{4} << 30};
  ::setrlimit(RLIMIT_AS, &cap);
#endif
}

int usage() {
  std::fprintf(stderr,
               "usage: fuzz_readers gguf|safetensors|tokenizer [--iterations N] [--seed S] [--max-seconds T] [--only I]\n"
               "  feeds the reader N seeded mutations of a small valid input (stopping after T seconds);\n"
               "  --only I replays iteration I alone. Exit 0: every input was read or refused with an exception.\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  g_run.reader = argv[1];
  if (g_run.reader != "gguf" && g_run.reader != "safetensors" && g_run.reader != "tokenizer") return usage();
  uint64_t iterations = 2000, only = UINT64_MAX;
  double max_seconds = 60;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string opt = argv[i], v = argv[i + 1];
    if (opt == "--iterations") iterations = std::stoull(v);
    else if (opt == "--seed") g_run.seed = std::stoull(v);
    else if (opt == "--max-seconds") max_seconds = std::stod(v);
    else if (opt == "--only") only = std::stoull(v);
    else return usage();
  }
  if (argc % 2 != 0) return usage();
  install_crash_note();
  g_run.dir = fs::temp_directory_path() / ("ferret_fuzz_" + g_run.reader + "_" + std::to_string(::getpid()));
  fs::create_directories(g_run.dir);

  Rng seed_rng{0};
  if (!run_input(make_input(seed_rng, 0)))
    fail_input("the unmutated seed input is refused: " + g_run.last_refusal);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  uint64_t inputs = 0, accepted = 0;
  for (uint64_t i = only == UINT64_MAX ? 0 : only; i < (only == UINT64_MAX ? iterations : only + 1); ++i) {
    if (elapsed() > max_seconds) {
      std::printf("fuzz %s: stopped by --max-seconds %g after %llu of %llu inputs\n", g_run.reader.c_str(), max_seconds,
                  static_cast<unsigned long long>(inputs), static_cast<unsigned long long>(iterations));
      break;
    }
    g_run.iteration = i;
    Rng r{g_run.seed * 0x100000001B3ull ^ (i + 1) * 0x9E3779B97F4A7C15ull};
    accepted += run_input(make_input(r, 1 + static_cast<int>(r.below(4)))) ? 1 : 0;
    ++inputs;
  }
  std::printf("fuzz %s: %llu inputs, %llu accepted, %llu refused, %.1f s\n", g_run.reader.c_str(),
              static_cast<unsigned long long>(inputs), static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(inputs - accepted), elapsed());
  fs::remove_all(g_run.dir);
  return 0;
}
