// Fuzz target for chat templates: any text must parse or fail with hearth::Error, and a
// template that parses must render a conversation or fail with hearth::Error — never crash,
// overflow the stack, hang or allocate without bound. Built as a libFuzzer target with
// -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "hearth/chat_template.h"
#include "hearth/error.h"

namespace {

const nlohmann::ordered_json& conversation() {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi <b>there</b>\n"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
      "function": {"name": "f", "arguments": {"x": 1}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"y\": 2}"},
    {"role": "assistant", "content": "<think>a</think>Done."}])");
  return messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hearth::ChatTemplate chat = hearth::ChatTemplate::parse(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.jinja");
    hearth::ChatRenderOptions options;
    options.bos_token = "<s>";
    options.eos_token = "</s>";
    options.now_unix_seconds = 0;
    for (bool prompt : {false, true}) {
      options.add_generation_prompt = prompt;
      try {
        chat.render(conversation(), options);
      } catch (const hearth::Error&) {
      }
    }
  } catch (const hearth::Error&) {
  }
  return 0;
}
