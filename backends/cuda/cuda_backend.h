// The GPU backends (backends/cuda): the backend interface on an NVIDIA GPU (CUDA) or an AMD
// one (HIP, the same sources). The engine reaches them only through these entries
// (backend_registry.cpp) and the interface in backend.h.
#pragma once

#include "backend_registry.h"

// "cuda" (or "hip"): creates the backend on device options.device_index; kernel_paths() is
// {"cuda"} when this machine has such a device and empty (with the runtime's answer as the
// reason) when not.
namespace hearth::cuda {
backend::BackendEntry backend_entry();
}
namespace hearth::hip {
backend::BackendEntry backend_entry();
}
