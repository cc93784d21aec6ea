// The OpenAI request bodies the server accepts (/v1/completions, /v1/chat/completions), read
// into what the engine runs. Strict, as OpenAI itself is: an unknown field, a wrong type or a
// value out of range is a 400 that names the field; nothing is guessed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/generation.h"
#include "server/api_error.h"

namespace hearth::server {

enum class Endpoint { completions, chat_completions };

// One prompt of a completions request: text, or token ids.
struct PromptInput {
  std::string text;
  std::vector<int32_t> tokens;
  bool is_tokens = false;
};

// The limits a request is checked against before any work.
struct RequestLimits {
  int32_t max_tokens_limit = 4096;
  int32_t max_choices = 8;
  int32_t vocab_size = 0;  // token ids in prompts must be below it
};

struct ApiRequest {
  Endpoint endpoint = Endpoint::completions;
  std::string model;                 // as the client named it ("" when absent)
  std::vector<PromptInput> prompts;  // completions: one or more
  nlohmann::ordered_json messages;   // chat: the conversation, content flattened to text
  GenerationOptions generation;      // the defaults with the request's fields applied
  int32_t n = 1;                     // choices per prompt
  int32_t beams = 0;                 // 0 = sampling; otherwise beam search with this many
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool echo = false;           // completions: the prompt precedes the text
  std::string knowledge;       // a knowledge set the prompt is asked on, or ""
};

// Throws ApiError (status 400, the field in param()) for anything it does not accept.
// `defaults` supplies every generation setting the body leaves out; max_tokens absent is
// 16 for completions (as OpenAI) and the server's limit for chat.
ApiRequest parse_api_request(Endpoint endpoint, std::string_view body,
                             const GenerationOptions& defaults, const RequestLimits& limits);

// The body as JSON, refusing malformed text (with the byte offset) and nesting deeper than
// 64 levels.
nlohmann::ordered_json parse_json_body(std::string_view body);

}  // namespace hearth::server
