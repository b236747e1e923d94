// defines: MappedFile, shape helpers, check_llama_tensors — the format-independent reader parts
//
// The parts of the weight readers that are format-independent: the read-only file mapping, shape
// helpers, and check_llama_tensors (does a file hold exactly the tensors a LlamaForCausalLM needs?).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
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
