// An API request made ready for the engine: each choice's prompt as tokens, checked against
// the context and the server's prompt limit, before it takes a place in the queue.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "server/openai_request.h"

namespace hearth::server {

struct PreparedChoice {
  int32_t index = 0;             // the choice's index in the response
  size_t prompt = 0;             // which of the prompts it continues
  GenerationOptions generation;  // the request's, with this choice's seed
};

struct PreparedRequest {
  std::vector<std::vector<int32_t>> prompt_tokens;  // one list per prompt
  std::vector<std::string> prompt_texts;            // for echo (token prompts: only with echo)
  std::vector<PreparedChoice> choices;              // prompts × n, or prompts × 1 with beams
  int64_t prompt_token_count = 0;                   // over the prompts, once each
};

// Throws ApiError: 400 for a prompt too long (code context_length_exceeded) or a model
// without a chat template, 404 for an unknown knowledge set.
PreparedRequest prepare_request(Engine& engine, const ApiRequest& request,
                                int32_t max_prompt_tokens);

}  // namespace hearth::server
