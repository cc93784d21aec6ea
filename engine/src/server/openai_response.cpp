#include "server/openai_response.h"

#include <nlohmann/json.hpp>

namespace hearth::server {
namespace {

using Json = nlohmann::ordered_json;

bool is_chat(const ResponseHead& head) { return head.endpoint == Endpoint::chat_completions; }

Json head_json(const ResponseHead& head, bool chunk) {
  Json j;
  j["id"] = head.id;
  j["object"] =
      is_chat(head) ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  j["created"] = head.created;
  j["model"] = head.model;
  j["system_fingerprint"] = "hearth";
  return j;
}

Json usage_json(const Usage& usage) {
  return Json{{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

// Text as JSON: bytes that are not valid UTF-8 (a token split mid-character cannot reach
// here, but a model can produce invalid sequences) become U+FFFD rather than an exception.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

const char* finish_reason(StopReason reason) {
  switch (reason) {
    case StopReason::max_tokens:
    case StopReason::context_full:
      return "length";
    default:
      return "stop";
  }
}

std::string completion_body(const ResponseHead& head, const std::vector<Choice>& choices,
                            const Usage& usage) {
  Json j = head_json(head, false);
  Json list = Json::array();
  for (const Choice& c : choices) {
    Json choice{{"index", c.index}};
    if (is_chat(head)) {
      choice["message"] = Json{{"role", "assistant"}, {"content", c.text}};
    } else {
      choice["text"] = c.text;
    }
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finish_reason(c.stop_reason);
    if (c.score) choice["score"] = *c.score;
    list.push_back(std::move(choice));
  }
  j["choices"] = std::move(list);
  j["usage"] = usage_json(usage);
  return dump(j);
}

std::string chunk_event(const ResponseHead& head, int32_t index, std::string_view text, bool first,
                        const std::optional<StopReason>& finish) {
  Json j = head_json(head, true);
  Json choice{{"index", index}};
  if (is_chat(head)) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || !finish) delta["content"] = std::string(text);
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = std::string(text);
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish ? Json(finish_reason(*finish)) : Json(nullptr);
  j["choices"] = Json::array({std::move(choice)});
  return "data: " + dump(j) + "\n\n";
}

std::string usage_event(const ResponseHead& head, const Usage& usage) {
  Json j = head_json(head, true);
  j["choices"] = Json::array();
  j["usage"] = usage_json(usage);
  return "data: " + dump(j) + "\n\n";
}

std::string error_event(const std::string& error_json) { return "data: " + error_json + "\n\n"; }

}  // namespace hearth::server
