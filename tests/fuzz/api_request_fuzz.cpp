// Fuzz target for the server's readers: an OpenAI request body for either endpoint, an API
// key file, a listen address. The first byte picks which; the rest is the text. Any input must
// parse or be refused with ApiError / hearth::Error, never crash, hang or allocate without
// bound; what parses stays inside the limits it was read against. Built as a libFuzzer target
// with -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "hearth/error.h"
#include "server/api_keys.h"
#include "server/listen_address.h"
#include "server/openai_request.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0:
      case 1: {
        server::RequestLimits limits;
        limits.vocab_size = 512;
        const auto endpoint =
            data[0] % 4 == 0 ? server::Endpoint::completions : server::Endpoint::chat_completions;
        const server::ApiRequest r = server::parse_api_request(endpoint, text, {}, limits);
        if (r.n < 1 || r.n > limits.max_choices || r.beams < 0 || r.beams > limits.max_choices) {
          std::abort();
        }
        if (r.generation.max_tokens < 0 || r.generation.max_tokens > limits.max_tokens_limit) {
          std::abort();
        }
        if (r.beams > 0 && (r.n > r.beams || r.stream)) std::abort();
        for (const server::PromptInput& p : r.prompts) {
          for (int32_t t : p.tokens) {
            if (t < 0 || t >= limits.vocab_size) std::abort();
          }
        }
        if (endpoint == server::Endpoint::chat_completions && r.messages.empty()) std::abort();
        break;
      }
      case 2: {
        const server::ApiKeys keys = server::ApiKeys::from_text(text, "/fuzz/keys.txt");
        if (!keys.required()) std::abort();
        (void)keys.allows("Bearer " + text);
        break;
      }
      default:
        (void)server::parse_listen_address(text);
    }
  } catch (const server::ApiError& e) {
    if (e.status() != 400) std::abort();
  } catch (const Error&) {
  }
  return 0;
}
