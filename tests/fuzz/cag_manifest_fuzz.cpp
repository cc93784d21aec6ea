// Fuzz target for the cag plugin's cache manifest reader: any bytes must be read as a
// manifest or refused with a reason, never crash, hang or allocate without bound. A manifest
// that is read must survive being written and read again unchanged. Built as a libFuzzer
// target with -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "cache_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string why;
  const std::optional<cag::Manifest> m = cag::parse_manifest(text, why);
  if (!m) {
    if (why.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const std::optional<cag::Manifest> again = cag::parse_manifest(cag::manifest_text(*m), why);
  if (!again || again->token_ids != m->token_ids || again->documents != m->documents ||
      again->model_identity != m->model_identity || again->kv_file != m->kv_file ||
      again->tokens_hash != m->tokens_hash || again->template_hash != m->template_hash) {
    std::abort();
  }
  return 0;
}
