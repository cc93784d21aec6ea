// Fuzz target for the oae plugin's option reader: lines of KEY=VALUE must be accepted or
// refused with an error, never crash; accepted options are within their documented ranges.
// Built as a libFuzzer target with -DHEARTH_FUZZ=ON (clang), and always as a replay program.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "oae_options.h"
#include "option_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hearth::oae::OaeOptions o =
        hearth::oae::parse_oae_options(hearth::sdk::Options(option_lines(data, size)));
    if (o.label.empty() || o.label.size() > 64 || o.pue < 1 || o.pue > 10) std::abort();
    if (o.keep_requests < 1 || o.cpu_watts_per_core < 0 || o.grid_g_per_kwh < 0) std::abort();
  } catch (const hearth::sdk::Error&) {
  }
  return 0;
}
