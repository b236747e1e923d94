// defines: --inject-fault (fault_injection.hpp): what a broken client would send.
#include "federated/fault_injection.hpp"

#include <limits>

namespace ferret {

UpdateFault make_update_fault(const Config& c) {
  if (c.inject_fault == FaultKind::none) return {};
  const FaultKind kind = c.inject_fault;
  const auto victim = static_cast<int>(c.inject_fault_client);
  return [kind, victim](int client, torch::Tensor& update) {
    if (client != victim) return;
    if (kind == FaultKind::nan)
      update.narrow(0, update.size(0) / 2, 1).fill_(std::numeric_limits<float>::quiet_NaN());
    if (kind == FaultKind::huge) update.fill_(1e6f);
  };
}

}  // namespace ferret
