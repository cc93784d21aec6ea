// The CUDA backend (backends/cuda): the backend interface on an NVIDIA GPU. The engine reaches
// it only through this entry (backend_registry.cpp) and the interface in backend.h.
#pragma once

#include "backend_registry.h"

namespace hearth::cuda {

// "cuda": creates the backend on device options.device_index; kernel_paths() is {"cuda"} when
// this machine has a CUDA device and empty (with the driver's answer as the reason) when not.
backend::BackendEntry backend_entry();

}  // namespace hearth::cuda
