// defines: MappedFile, shape helpers, value and byte-range checks, check_llama_tensors — the
// format-independent reader parts
//
// The parts of the weight readers that are format-independent: the read-only file mapping, shape
// helpers, and check_llama_tensors (does a file hold exactly the tensors a LlamaForCausalLM needs?).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "model/weights.hpp"
#include "weights_internal.hpp"

namespace ferret {
namespace detail {

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path_ + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot stat '" + path_ + "': " + std::strerror(err));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) {  // mmap rejects a zero length; an empty file is simply truncated
    ::close(fd);
    throw std::runtime_error("'" + path_ + "' is empty");
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps its own reference to the file
  if (p == MAP_FAILED) throw std::runtime_error("cannot mmap '" + path_ + "': " + std::strerror(err));
  data_ = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

int64_t element_count(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::runtime_error(what + ": negative dimension in shape " + shape_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 8 / d)  // /8: byte counts must not overflow either
      throw std::runtime_error(what + ": shape " + shape_string(shape) + " is too large");
    n *= d;
  }
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

// Far above any published LLaMA (405B: 126 layers, 16384 wide, 53248 SwiGLU, 128 heads, 128256
// tokens), far below what would overflow or exhaust memory when shapes and names are made from them.
constexpr int64_t kMaxLayers = 1024, kMaxWidth = int64_t{1} << 20, kMaxHeads = 4096, kMaxVocab = int64_t{1} << 24;

void check_range(int64_t v, int64_t hi, const ModelKeys& k, const char* key) {
  if (v < 1 || v > hi)
    throw std::runtime_error(k.where + " '" + key + "' is " + std::to_string(v) + " (allowed: 1 .. " +
                             std::to_string(hi) + ")");
}

void check_positive_finite(double v, double hi, const ModelKeys& k, const char* key) {
  if (!(v > 0.0 && v <= hi)) {  // also false for NaN
    std::ostringstream msg;
    msg << k.where << " '" << key << "' is " << v << " (allowed: a finite number > 0 and <= " << hi << ")";
    throw std::runtime_error(msg.str());
  }
}

}  // namespace

void check_model_values(const ModelConfig& m, const ModelKeys& k, bool has_vocab) {
  check_range(m.hidden_size, kMaxWidth, k, k.hidden);
  check_range(m.intermediate_size, 4 * kMaxWidth, k, k.intermediate);
  check_range(m.num_layers, kMaxLayers, k, k.layers);
  check_range(m.num_heads, kMaxHeads, k, k.heads);
  check_range(m.num_kv_heads, kMaxHeads, k, k.kv_heads);
  if (has_vocab) check_range(m.vocab_size, kMaxVocab, k, k.vocab);
  check_positive_finite(m.rms_norm_eps, 1.0, k, k.eps);
  check_positive_finite(m.rope_theta, 1e12, k, k.theta);
}

void check_disjoint_ranges(std::vector<ByteRange> ranges, const std::string& where) {
  std::erase_if(ranges, [](const ByteRange& r) { return r.size == 0; });  // an empty tensor owns no bytes
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const ByteRange &a = ranges[i - 1], &b = ranges[i];
    if (b.begin < a.begin + a.size)  // no overflow: the readers bounded both by the file size
      throw std::runtime_error(where + ": tensors '" + *a.name + "' and '" + *b.name + "' share bytes [" +
                               std::to_string(b.begin) + ", " + std::to_string(std::min(a.begin + a.size, b.begin + b.size)) +
                               ") (each tensor must have bytes of its own)");
  }
}

}  // namespace detail

namespace {

// Every parameter of a LlamaForCausalLM, in the order model.hpp registers them, handed to `visit`
// one at a time: num_layers comes from the file, so the list is never built whole (2^40 layers would
// exhaust the memory before the first missing tensor is reported).
template <typename Visit>
void for_each_llama_parameter(const ModelConfig& m, Visit&& visit) {
  const int64_t hidden = m.hidden_size, head_dim = m.hidden_size / m.num_heads;
  const int64_t kv = m.num_kv_heads * head_dim;
  visit("model.embed_tokens.weight", {m.vocab_size, hidden});
  for (int64_t i = 0; i < m.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    visit(p + "self_attn.q_proj.weight", {m.num_heads * head_dim, hidden});
    visit(p + "self_attn.k_proj.weight", {kv, hidden});
    visit(p + "self_attn.v_proj.weight", {kv, hidden});
    visit(p + "self_attn.o_proj.weight", {hidden, m.num_heads * head_dim});
    visit(p + "mlp.gate_proj.weight", {m.intermediate_size, hidden});
    visit(p + "mlp.up_proj.weight", {m.intermediate_size, hidden});
    visit(p + "mlp.down_proj.weight", {hidden, m.intermediate_size});
    visit(p + "input_layernorm.weight", {hidden});
    visit(p + "post_attention_layernorm.weight", {hidden});
  }
  visit("model.norm.weight", {hidden});
  if (!m.tie_embeddings) visit("lm_head.weight", {m.vocab_size, hidden});
}

}  // namespace

double llama_parameter_count(const ModelConfig& model) {
  double total = 0;
  for_each_llama_parameter(model, [&](const std::string&, const std::vector<int64_t>& shape) {
    double n = 1;
    for (int64_t d : shape) n *= static_cast<double>(d);
    total += n;
  });
  return total;
}

void check_model_fits_memory(const ModelConfig& model, const std::string& what) {
  const double params = llama_parameter_count(model), need = 8.0 * params;
  const double have = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (have <= 0 || need <= have) return;  // an unknown size is no reason to refuse
  std::ostringstream msg;
  msg.precision(3);
  msg << what << ": the model has " << params << " parameters, at least " << need / 1073741824.0
      << " GiB for its fp32 weights and gradients, more than this machine's " << have / 1073741824.0
      << " GiB of memory (allowed: a model that fits)";
  throw std::runtime_error(msg.str());
}

void check_llama_tensors(const WeightFile& weights, const ModelConfig& model) {
  if (model.num_heads <= 0 || model.hidden_size % model.num_heads != 0)
    throw std::runtime_error("model config: hidden_size " + std::to_string(model.hidden_size) +
                             " is not a multiple of num_heads " + std::to_string(model.num_heads));
  // Also keeps num_kv_heads · head_dim <= hidden_size: the expected shapes cannot overflow.
  if (model.num_kv_heads <= 0 || model.num_heads % model.num_kv_heads != 0)
    throw std::runtime_error("model config: num_heads " + std::to_string(model.num_heads) +
                             " is not a multiple of num_kv_heads " + std::to_string(model.num_kv_heads));
  std::unordered_map<std::string, const TensorInfo*> by_name;
  for (const TensorInfo& t : weights.tensors()) by_name.emplace(t.name, &t);
  for_each_llama_parameter(model, [&](const std::string& name, const std::vector<int64_t>& shape) {
    const auto it = by_name.find(name);
    if (it == by_name.end())
      throw std::runtime_error("weights: tensor '" + name + "' is missing (expected shape " +
                               detail::shape_string(shape) + ")");
    if (it->second->shape != shape)
      throw std::runtime_error("weights: tensor '" + name + "' has shape " + detail::shape_string(it->second->shape) +
                               ", expected " + detail::shape_string(shape));
  });
}

}  // namespace ferret
