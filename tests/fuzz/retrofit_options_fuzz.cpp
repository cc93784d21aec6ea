// Fuzz target for the gqa_retrofit plugin's option reader and its per-layer targets: lines of
// KEY=VALUE must be accepted or refused with an error, never crash, hang or allocate without
// bound. Accepted options must give, for a model of 32 query heads and 8 KV heads in each of
// 4 layers, counts that divide both. Built as a libFuzzer target with -DHEARTH_FUZZ=ON (clang),
// and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "option_lines.h"
#include "retrofit_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const gqa_retrofit::RetrofitOptions o =
        gqa_retrofit::parse_retrofit_options(hearth::sdk::Options(option_lines(data, size)));
    const std::vector<int32_t> target = gqa_retrofit::target_kv_heads(o, 4, 32, {8, 8, 8, 8});
    if (target.size() != 4) std::abort();
    for (int32_t heads : target) {
      if (heads < 1 || heads > 8 || 8 % heads != 0 || 32 % heads != 0) std::abort();
    }
  } catch (const hearth::sdk::Error&) {
  }
  return 0;
}
