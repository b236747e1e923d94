// defines: cuda_check / FERRET_CUDA_CHECK — a CUDA runtime error becomes a std::runtime_error that
//          names the failed call and CUDA's error name and text.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace ferret::cuda_detail {

inline void cuda_check(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return;
  throw std::runtime_error(std::string("CUDA: ") + call + " failed: " + cudaGetErrorName(err) + " (" +
                           cudaGetErrorString(err) + ")");
}

}  // namespace ferret::cuda_detail

#define FERRET_CUDA_CHECK(call) ::ferret::cuda_detail::cuda_check((call), #call)
