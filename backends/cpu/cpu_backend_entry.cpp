#include <string>

#include "cpu/cpu_backend.h"
#include "hearth/error.h"

namespace hearth::cpu {
namespace {

constexpr Isa kIsas[] = {Isa::reference, Isa::avx2, Isa::avx512};  // slowest first

std::unique_ptr<backend::Backend> create(const backend::BackendOptions& options) {
  CpuBackendOptions cpu_options{options.threads, std::nullopt};
  if (!options.kernels.empty()) {
    for (Isa isa : kIsas) {
      if (options.kernels == isa_name(isa)) cpu_options.forced_isa = isa;
    }
    if (!cpu_options.forced_isa) {
      throw Error("cpu: unknown kernel path '" + options.kernels + "' (reference, avx2 or avx512)");
    }
  }
  return std::make_unique<CpuBackend>(cpu_options);
}

std::vector<std::string> kernel_paths() {
  std::vector<std::string> paths;
  for (Isa isa : kIsas) {
    if (isa_supported(isa)) paths.emplace_back(isa_name(isa));
  }
  return paths;
}

}  // namespace

backend::BackendEntry backend_entry() { return {"cpu", create, kernel_paths}; }

}  // namespace hearth::cpu
