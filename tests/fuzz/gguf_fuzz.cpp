// Fuzz target for the GGUF reader: any byte string must parse or fail with hearth::Error,
// never crash, hang or allocate without bound. Built as a libFuzzer target with
// -DHEARTH_FUZZ=ON (clang), and always as a replay program that runs the corpus in ctest.
#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/gguf_file.h"
#include "hearth/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = hearth::gguf::File::parse(std::as_bytes(std::span(data, size)), "fuzz.gguf");
    for (const auto& t : file->tensors()) {
      if (t.data && t.byte_size > 0) {
        volatile std::byte last = t.data[t.byte_size - 1];  // must be inside the input
        (void)last;
      }
    }
  } catch (const hearth::Error&) {
  }
  return 0;
}
