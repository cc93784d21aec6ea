// The backends this build contains, by name (ggml: ggml_backend_reg). The engine creates its
// backend from here without including any concrete backend; the conformance suite runs
// every op on every entry.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend.h"

namespace hearth::backend {

// Options every backend accepts; each reads what applies to it.
struct BackendOptions {
  int threads = 0;       // host threads (CPU backend); 0 = all physical cores
  std::string kernels;   // a kernel path from BackendEntry::kernel_paths(); "" = the fastest
  int device_index = 0;  // which device of a GPU backend ("cuda:1")
};

struct BackendEntry {
  std::string name;  // "cpu", later "cuda", "hip"
  // Throws hearth::Error when the device is absent or the options do not apply.
  std::function<std::unique_ptr<Backend>(const BackendOptions&)> create;
  // The kernel paths this machine can run (CPU: reference, avx2, avx512), fastest last.
  // Empty when the backend cannot run here (a GPU backend without a device).
  std::function<std::vector<std::string>()> kernel_paths;
  // Why kernel_paths() is empty ("" when it is not): what the device query answered.
  std::function<std::string()> unavailable_reason = [] { return std::string(); };
};

// Every backend built in, the CPU first.
std::span<const BackendEntry> backends();

// The entry named `name`, or null.
const BackendEntry* find_backend(const std::string& name);

}  // namespace hearth::backend
