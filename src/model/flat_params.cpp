// defines: the implementation of flat_params.hpp
#include "model/flat_params.hpp"

namespace ferret {

FlatParams flatten_parameters(torch::nn::Module& module) {
  FlatParams fp;
  auto named = module.named_parameters(/*recurse=*/true);
  int64_t total = 0;
  for (const auto& p : named) total += p.value().numel();
  const torch::Device device = named.is_empty() ? torch::Device(torch::kCPU) : named[0].value().device();
  fp.flat = torch::empty({total}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& p : named) {
    torch::Tensor param = p.value();
    const int64_t n = param.numel();
    auto view = fp.flat.narrow(0, offset, n).view(param.sizes());
    view.copy_(param);
    param.set_data(view);
    fp.infos.push_back({p.key(), static_cast<uint64_t>(n)});
    fp.shapes.push_back(param.sizes().vec());
    offset += n;
  }
  return fp;
}

}  // namespace ferret
