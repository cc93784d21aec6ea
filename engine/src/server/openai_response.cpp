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

Json piece_bytes(const std::string& piece) {
  Json bytes = Json::array();
  for (unsigned char c : piece) bytes.push_back(c);
  return bytes;
}

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}.
Json chat_logprobs(const std::vector<TokenChoice>& tokens) {
  Json content = Json::array();
  for (const TokenChoice& t : tokens) {
    Json top = Json::array();
    for (const auto& [piece, logprob] : t.top) {
      top.push_back(Json{{"token", piece}, {"logprob", logprob}, {"bytes", piece_bytes(piece)}});
    }
    content.push_back(Json{{"token", t.piece},
                           {"logprob", t.logprob},
                           {"bytes", piece_bytes(t.piece)},
                           {"top_logprobs", std::move(top)}});
  }
  return Json{{"content", std::move(content)}, {"refusal", nullptr}};
}

// Completions: parallel lists of tokens, their log-probabilities, the alternatives as
// {token: logprob} (the likelier of two tokens with the same text is kept) and each token's
// offset in the text, counted in characters (a character's first byte counts it).
Json completion_logprobs(const std::vector<TokenChoice>& tokens, int64_t offset) {
  Json pieces = Json::array(), logprobs = Json::array(), tops = Json::array(),
       offsets = Json::array();
  for (const TokenChoice& t : tokens) {
    pieces.push_back(t.piece);
    logprobs.push_back(t.logprob);
    Json top = Json::object();
    for (const auto& [piece, logprob] : t.top) {
      if (!top.contains(piece)) top[piece] = logprob;
    }
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += character_count(t.piece);
  }
  return Json{{"tokens", std::move(pieces)},
              {"token_logprobs", std::move(logprobs)},
              {"top_logprobs", std::move(tops)},
              {"text_offset", std::move(offsets)}};
}

// A choice's "logprobs": null unless the request asked for them.
Json logprobs_json(const ResponseHead& head, const std::vector<TokenChoice>* tokens,
                   int64_t offset) {
  if (!tokens) return nullptr;
  return is_chat(head) ? chat_logprobs(*tokens) : completion_logprobs(*tokens, offset);
}

}  // namespace

int64_t character_count(const std::string& piece) {
  int64_t n = 0;
  for (unsigned char c : piece) n += (c & 0xC0) != 0x80;
  return n;
}

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
    choice["logprobs"] = logprobs_json(head, c.logprobs ? &*c.logprobs : nullptr, 0);
    choice["finish_reason"] = finish_reason(c.stop_reason);
    if (c.score) choice["score"] = *c.score;
    list.push_back(std::move(choice));
  }
  j["choices"] = std::move(list);
  j["usage"] = usage_json(usage);
  return dump(j);
}

std::string chunk_event(const ResponseHead& head, int32_t index, std::string_view text, bool first,
                        const std::optional<StopReason>& finish,
                        const std::vector<TokenChoice>* logprobs, int64_t offset) {
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
  choice["logprobs"] = logprobs_json(head, logprobs, offset);
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
