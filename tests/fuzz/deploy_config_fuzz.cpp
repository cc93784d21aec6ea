// Fuzz target for the deployment-file reader: any text must parse or fail with hearth::Error
// naming the file, never crash, overflow the stack, hang or allocate without bound. Built as
// a libFuzzer target with -DHEARTH_FUZZ=ON (clang), and always as a replay program that
// runs the seed files in ctest.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hearth/deploy_config.h"
#include "hearth/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    hearth::parse_deploy_config(std::string_view(reinterpret_cast<const char*>(data), size),
                                "/fuzz/deploy.toml");
  } catch (const hearth::Error&) {
  }
  return 0;
}
