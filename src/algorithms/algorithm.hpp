// defines: Algorithm (what a client uploads and how every rank applies the server's step),
//          make_algorithm (ferret | fedavg | fedkseed)
//
// The round loop (run.cpp) is the same for every algorithm: clients train, their rank sums the
// weighted updates Δ_i = w_start − w_end, the algorithm encodes that sum into a payload, the
// payloads are reduced to rank 0, the server step turns the mean into a step s (algorithms/server_optimizer.hpp),
// s is broadcast, and every rank applies w ← w − decode(s). Encoding and decoding are linear,
// so summing Δ_i before encoding equals summing the encoded client updates.
//   ferret: payload = K coefficients (projection.hpp), decode = reconstruction from shared bases
//   fedavg: payload = the d-vector itself, decode = identity
//   fedkseed: payload = K accumulated zeroth-order scalar gradients, decode = replay of the seeds
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "comm/data_comm.hpp"
#include "config/config.hpp"
#include "projection/param_kernels.hpp"
#include "projection/projection.hpp"

namespace ferret {

// Vectors of length d (delta, delta_sum, params) are in the parameter space of the ParamKernels the
// algorithm was made with (param_kernels.hpp: host or GPU memory). Payloads and steps are host
// memory, or in the parameter space too with --data-comm nccl (they then travel on the GPUs);
// decoded_norm always gets a host step (the server optimizer's).
// What a zeroth-order algorithm needs of a client's model (model/local_training.hpp's LossProbe
// provides it; the algorithm layer knows no model): draw the next step's batch, the loss on it at
// the current parameters, and the flat parameters themselves (host memory, changed in place).
struct ZerothOrderModel {
  std::function<void()> next_batch;
  std::function<double()> loss;
  std::span<float> params;
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // Floats in an upload and in the broadcast step (K for ferret, d for fedavg).
  virtual size_t payload_size() const = 0;

  virtual void begin_round(uint32_t round) = 0;
  // One client of this rank finished the round with update `delta` (length d).
  virtual void observe_client_delta(std::span<const float> delta) = 0;
  // Per-round agreement among ranks before encoding (ferret's norm allocation); may communicate
  // on `control`, a host-memory DataComm (the MPI control plane's).
  virtual void agree(DataComm& control, const std::vector<bool>& senders) = 0;
  // This rank's weighted sum of client updates → its upload payload.
  virtual void encode(std::span<const float> delta_sum, std::span<float> payload) = 0;
  // params ← params − decode(step).
  virtual void apply(std::span<const float> step, std::span<float> params) = 0;
  // ‖decode(step)‖ in parameter space (ferret: its expectation, since decoding is random).
  virtual double decoded_norm(std::span<const float> step) const = 0;

  // Zeroth-order algorithms (fedkseed) train clients without gradients and upload a K-vector of
  // scalar gradients instead of encoding Δ: the round loop then hands encode() that sum.
  virtual bool zeroth_order() const { return false; }
  // One client's zeroth-order training on `model` (see ZerothOrderModel), adding its scalar
  // gradients into `contribution` (payload_size() floats, host). Returns its mean loss, NaN if no
  // step was taken. Only for zeroth_order() algorithms; the others throw std::logic_error.
  virtual double train_zeroth_order(const ZerothOrderModel& model, uint32_t round, uint32_t client,
                                    std::span<float> contribution) const;
  // State that must survive a checkpoint for a bitwise resume (FedKSeed-Pro's seed history).
  virtual std::vector<float> state() const { return {}; }
  virtual void set_state(std::span<const float>) {}

  // Blocks and this round's K_l (empty for fedavg).
  virtual std::span<const Block> blocks() const = 0;
  virtual std::vector<int32_t> allocation() const = 0;
};

// `params` lists the trainable tensors in flat-vector order; `kernels` is where the model's
// parameters live (it must outlive the algorithm); config.data_comm says where payloads live. Throws ConfigError when the configuration cannot
// work with this model (e.g. --k smaller than the number of blocks) or with that memory.
std::unique_ptr<Algorithm> make_algorithm(const Config& config, std::span<const ParamInfo> params,
                                          const ParamKernels& kernels = host_param_kernels());

}  // namespace ferret
