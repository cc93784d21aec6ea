#include "server/prepared_request.h"

#include <algorithm>
#include <random>

#include "hearth/error.h"

namespace hearth::server {
namespace {

std::string knowledge_prompt(Engine& engine, const std::string& set, const std::string& text) {
  std::vector<std::string> sets;
  try {
    sets = engine.knowledge_sets();
  } catch (const Error& e) {
    throw ApiError(400, std::string("'knowledge': ") + e.what(), "knowledge");
  }
  if (std::find(sets.begin(), sets.end(), set) == sets.end()) {
    std::string known;
    for (const std::string& s : sets) known += (known.empty() ? "" : ", ") + s;
    throw ApiError(404,
                   "no knowledge set '" + set +
                       "' (this server has: " + (known.empty() ? "none" : known) + ")",
                   "knowledge", "knowledge_not_found");
  }
  return engine.knowledge_compose(set, text);
}

}  // namespace

PreparedRequest prepare_request(Engine& engine, const ApiRequest& request,
                                int32_t max_prompt_tokens) {
  PreparedRequest p;
  const GenerationOptions& g = request.generation;
  const bool knowledge = !request.knowledge.empty();
  auto add_text = [&](const std::string& text, bool add_bos, bool parse_special) {
    p.prompt_texts.push_back(text);
    p.prompt_tokens.push_back(engine.tokenize(text, add_bos, parse_special));
  };
  try {
    if (request.endpoint == Endpoint::chat_completions) {
      if (!engine.has_chat_template()) {
        throw ApiError(400,
                       "this model has no chat template: use /v1/completions, or start the "
                       "server with a template ([model] chat_template, --chat-template)",
                       "messages", "no_chat_template");
      }
      std::string prompt = engine.render_chat(request.messages, true);
      if (knowledge) prompt = knowledge_prompt(engine, request.knowledge, prompt);
      add_text(prompt, false, true);
    } else {
      for (const PromptInput& input : request.prompts) {
        if (input.is_tokens && !knowledge) {
          p.prompt_texts.push_back(request.echo ? engine.detokenize(input.tokens) : "");
          p.prompt_tokens.push_back(input.tokens);
        } else {
          const std::string text = input.is_tokens ? engine.detokenize(input.tokens) : input.text;
          if (knowledge) {
            // A knowledge prefix already began the sequence: the question adds no BOS.
            add_text(knowledge_prompt(engine, request.knowledge, text), false, g.parse_special);
          } else {
            add_text(text, g.add_bos, g.parse_special);
          }
        }
      }
    }
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    // A template that raises, a knowledge set that cannot compose: the client's to fix.
    throw ApiError(400, e.what(),
                   request.endpoint == Endpoint::chat_completions ? "messages" : "prompt");
  }

  const int32_t context = engine.model_info().context_size;
  const int32_t limit =
      max_prompt_tokens > 0 ? std::min(max_prompt_tokens, context - 1) : context - 1;
  for (const auto& tokens : p.prompt_tokens) {
    if (static_cast<int64_t>(tokens.size()) > limit) {
      throw ApiError(400,
                     "the prompt has " + std::to_string(tokens.size()) +
                         " tokens; this server takes at most " + std::to_string(limit),
                     request.endpoint == Endpoint::chat_completions ? "messages" : "prompt",
                     "context_length_exceeded");
    }
    p.prompt_token_count += static_cast<int64_t>(tokens.size());
  }

  // Choices: n draws per prompt with consecutive seeds (a given seed reproduces all of
  // them), or one beam search per prompt returning n hypotheses.
  const int32_t per_prompt = request.beams > 0 ? 1 : request.n;
  uint64_t seed = g.sampling.seed ? *g.sampling.seed : std::random_device{}();
  for (size_t prompt = 0; prompt < p.prompt_tokens.size(); ++prompt) {
    for (int32_t i = 0; i < per_prompt; ++i) {
      PreparedChoice c;
      c.index = static_cast<int32_t>(prompt) * request.n + i;
      c.prompt = prompt;
      c.generation = g;
      c.generation.sampling.seed = seed++;
      if (knowledge) c.generation.knowledge_prefix = request.knowledge;
      p.choices.push_back(std::move(c));
    }
  }
  return p;
}

}  // namespace hearth::server
