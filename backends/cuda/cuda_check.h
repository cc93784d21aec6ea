// CUDA runtime results as hearth::Error: a failed call names the operation and the runtime's
// message; running out of device memory is ErrorCode::out_of_memory.
#pragma once

#include <string>

#include "cuda/gpu_vendor.h"
#include "hearth/error.h"

namespace hearth::HEARTH_GPU_NAMESPACE {

inline void check(cudaError_t result, const char* what) {
  if (result == cudaSuccess) return;
  const ErrorCode code =
      result == cudaErrorMemoryAllocation ? ErrorCode::out_of_memory : ErrorCode::failed;
  throw Error(std::string(HEARTH_GPU_NAME ": ") + what + ": " + cudaGetErrorString(result), code);
}

}  // namespace hearth::HEARTH_GPU_NAMESPACE
