// The OpenAI response bodies: whole completions, streamed chunks (server-sent events) and the
// usage block, for both endpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hearth/generation.h"
#include "server/openai_request.h"

namespace hearth::server {

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

// A generated token as the response shows it: its text (bytes, possibly part of a character)
// and log-probability, with the most likely tokens of its step.
struct TokenChoice {
  std::string piece;
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

struct Choice {
  int32_t index = 0;
  std::string text;
  StopReason stop_reason = StopReason::max_tokens;
  std::optional<double> score;  // beam search's score, as hearth's extension field
  std::optional<std::vector<TokenChoice>> logprobs;  // when the request asked for them
};

// What every body of one response shares.
struct ResponseHead {
  Endpoint endpoint = Endpoint::completions;
  std::string id;  // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

// OpenAI's finish_reason: "stop" (end of text or a stop sequence) or "length".
const char* finish_reason(StopReason reason);

std::string completion_body(const ResponseHead& head, const std::vector<Choice>& choices,
                            const Usage& usage);

// One server-sent event ("data: {...}\n\n") carrying `text` for choice `index`; chat's
// first event of a choice also carries the assistant role. With `finish`, the event ends the
// choice. `usage` events carry no choices.
// With `logprobs`, the event carries those tokens' (completions: their text_offset counted
// from `offset` characters).
std::string chunk_event(const ResponseHead& head, int32_t index, std::string_view text, bool first,
                        const std::optional<StopReason>& finish,
                        const std::vector<TokenChoice>* logprobs = nullptr, int64_t offset = 0);

// The characters of a token's text (a character's first byte counts it), for text_offset.
int64_t character_count(const std::string& piece);
std::string usage_event(const ResponseHead& head, const Usage& usage);
inline constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";
std::string error_event(const std::string& error_json);

}  // namespace hearth::server
