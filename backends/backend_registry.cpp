#include "backend_registry.h"

#include "cpu/cpu_backend.h"
#if HEARTH_HAVE_CUDA || HEARTH_HAVE_HIP
#include "cuda/cuda_backend.h"
#endif

namespace hearth::backend {

std::span<const BackendEntry> backends() {
  // A backend joins the build here, one line each (within its CMake option's #if).
  static const BackendEntry all[] = {
    cpu::backend_entry(),
#if HEARTH_HAVE_CUDA
    cuda::backend_entry(),
#endif
#if HEARTH_HAVE_HIP
    hip::backend_entry(),
#endif
  };
  return all;
}

const BackendEntry* find_backend(const std::string& name) {
  for (const BackendEntry& entry : backends()) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace hearth::backend
