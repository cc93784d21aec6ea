// Fuzz target for workload files (`hearth oae run --workload`): any text must parse or fail
// with hearth::Error, never crash, overflow the stack, hang or allocate without bound; a
// workload that parses has two labelled variants and its requests in arrival order. Built as
// a libFuzzer target with -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hearth/error.h"
#include "hearth/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hearth::Workload w = hearth::parse_workload(
        std::string_view(reinterpret_cast<const char*>(data), size), "/fuzz/workload.toml");
    if (w.method.label.empty() || w.method.label == w.baseline.label) std::abort();
    if (w.requests.empty() || w.requests.size() > hearth::kMaxWorkloadRequests) std::abort();
    for (size_t i = 1; i < w.requests.size(); ++i) {
      if (w.requests[i].at < w.requests[i - 1].at) std::abort();
    }
  } catch (const hearth::Error&) {
  }
  return 0;
}
