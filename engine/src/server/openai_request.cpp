#include "server/openai_request.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "hearth/settings.h"

namespace hearth::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;
constexpr size_t kMaxStops = 16;
constexpr size_t kMaxPrompts = 64;

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw ApiError(400, "'" + field + "' " + why, field);
}

const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::binary:
      return "binary";
    case Json::value_t::discarded:
      return "discarded";
    default:
      return "a number";
  }
}

// Reads the body's fields, remembering which were read so that the rest can be refused.
class Fields {
 public:
  explicit Fields(const Json& body) : body_(body) {}

  // The field, or null when it is absent or null (OpenAI's clients send null for "unset").
  const Json* get(const std::string& key) {
    known_.insert(key);
    auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void ignore(const std::string& key) { known_.insert(key); }

  void refuse_unknown() const {
    for (auto it = body_.begin(); it != body_.end(); ++it) {
      if (!known_.count(it.key())) {
        throw ApiError(400, "unknown field '" + it.key() + "' (this server does not support it)",
                       it.key());
      }
    }
  }

  bool boolean(const std::string& key, bool fallback) {
    const Json* v = get(key);
    if (!v) return fallback;
    if (!v->is_boolean()) refuse(key, std::string("must be a boolean, not ") + type_name(*v));
    return v->get<bool>();
  }
  std::string string(const std::string& key) {
    const Json* v = get(key);
    if (!v) return "";
    if (!v->is_string()) refuse(key, std::string("must be a string, not ") + type_name(*v));
    return v->get<std::string>();
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
    const Json* v = get(key);
    if (!v) return fallback;
    return checked_integer(key, *v, min, max);
  }
  double number(const std::string& key, double fallback, settings::RealRange range) {
    const Json* v = get(key);
    if (!v) return fallback;
    if (!v->is_number()) refuse(key, std::string("must be a number, not ") + type_name(*v));
    const double x = v->get<double>();
    if (std::string why = settings::check_float(x, range); !why.empty()) refuse(key, "= " + why);
    return x;
  }

  static int64_t checked_integer(const std::string& key, const Json& v, int64_t min, int64_t max) {
    if (!v.is_number_integer()) {
      refuse(key, std::string("must be an integer, not ") + type_name(v));
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) {
      refuse(key, "= " + std::to_string(v.get<uint64_t>()) + " is outside " + std::to_string(min) +
                      ".." + std::to_string(max));
    }
    const int64_t x = v.get<int64_t>();
    if (x < min || x > max) {
      refuse(key, "= " + std::to_string(x) + " is outside " + std::to_string(min) + ".." +
                      std::to_string(max));
    }
    return x;
  }

 private:
  const Json& body_;
  std::set<std::string> known_;
};

std::vector<int32_t> token_list(const std::string& field, const Json& array,
                                const RequestLimits& limits) {
  std::vector<int32_t> tokens;
  tokens.reserve(array.size());
  const int64_t top = limits.vocab_size > 0 ? limits.vocab_size - 1 : INT32_MAX;
  for (const Json& t : array) tokens.push_back(Fields::checked_integer(field, t, 0, top));
  return tokens;
}

// prompt: a string, an array of strings, an array of token ids, or an array of such arrays.
std::vector<PromptInput> read_prompts(const Json* prompt, const RequestLimits& limits) {
  if (!prompt) refuse("prompt", "is required");
  std::vector<PromptInput> prompts;
  if (prompt->is_string()) {
    prompts.push_back({prompt->get<std::string>(), {}, false});
    return prompts;
  }
  if (!prompt->is_array())
    refuse("prompt", std::string("must be a string or an array, not ") + type_name(*prompt));
  if (prompt->empty()) refuse("prompt", "must not be an empty array");
  if (prompt->front().is_number()) {
    prompts.push_back({"", token_list("prompt", *prompt, limits), true});
    return prompts;
  }
  if (prompt->size() > kMaxPrompts) {
    refuse("prompt", "lists " + std::to_string(prompt->size()) + " prompts; at most " +
                         std::to_string(kMaxPrompts) + " are allowed");
  }
  for (const Json& item : *prompt) {
    if (item.is_string()) {
      prompts.push_back({item.get<std::string>(), {}, false});
    } else if (item.is_array()) {
      prompts.push_back({"", token_list("prompt", item, limits), true});
    } else {
      refuse("prompt",
             std::string("items must be strings or arrays of token ids, not ") + type_name(item));
    }
  }
  return prompts;
}

// A message's content as text: a string, or an array of {"type": "text", "text": ...} parts
// joined (the only part type a text model can take).
std::string content_text(const Json& content, size_t index) {
  const std::string field = "messages[" + std::to_string(index) + "].content";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) {
    refuse(field,
           std::string("must be a string or an array of text parts, not ") + type_name(content));
  }
  std::string text;
  for (const Json& part : content) {
    if (!part.is_object()) refuse(field, "parts must be objects");
    auto type = part.find("type");
    if (type == part.end() || !type->is_string() || *type != "text") {
      refuse(field, "parts must have \"type\": \"text\" (this model reads text only)");
    }
    auto t = part.find("text");
    if (t == part.end() || !t->is_string()) refuse(field, "text parts need a string 'text'");
    text += t->get<std::string>();
  }
  return text;
}

Json read_messages(const Json* messages) {
  if (!messages) refuse("messages", "is required");
  if (!messages->is_array()) {
    refuse("messages", std::string("must be an array, not ") + type_name(*messages));
  }
  if (messages->empty()) refuse("messages", "must not be empty");
  Json out = Json::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) refuse(field, std::string("must be an object, not ") + type_name(m));
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) refuse(field + ".role", "must be a string");
    Json message = m;  // other fields (name, tool_calls, ...) are the template's to use
    auto content = m.find("content");
    if (content != m.end() && !content->is_null()) message["content"] = content_text(*content, i);
    out.push_back(std::move(message));
  }
  return out;
}

std::vector<std::string> read_stop(const Json* stop) {
  std::vector<std::string> out;
  if (!stop) return out;
  if (stop->is_string()) {
    out.push_back(stop->get<std::string>());
  } else if (stop->is_array()) {
    if (stop->size() > kMaxStops) {
      refuse("stop", "lists " + std::to_string(stop->size()) + " sequences; at most " +
                         std::to_string(kMaxStops) + " are allowed");
    }
    for (const Json& s : *stop) {
      if (!s.is_string()) refuse("stop", "must hold strings only");
      out.push_back(s.get<std::string>());
    }
  } else {
    refuse("stop", std::string("must be a string or an array of strings, not ") + type_name(*stop));
  }
  for (const std::string& s : out) {
    if (s.empty()) refuse("stop", "must not contain an empty string");
  }
  return out;
}

// Fields OpenAI defines that change nothing here at their neutral value, and are refused
// (named) at any other: a client that relies on them learns it at once.
void refuse_unless_neutral(Fields& f) {
  for (const char* key : {"presence_penalty", "frequency_penalty"}) {
    if (f.number(key, 0, {-2, 2}) != 0) refuse(key, "is not supported (only 0)");
  }
  if (const Json* bias = f.get("logit_bias")) {
    if (!bias->is_object() || !bias->empty()) refuse("logit_bias", "is not supported");
  }
  if (const Json* format = f.get("response_format")) {
    auto type = format->is_object() ? format->find("type") : format->end();
    if (!format->is_object() || type == format->end() || *type != "text") {
      refuse("response_format", "supports only {\"type\": \"text\"}");
    }
  }
}

}  // namespace

Json parse_json_body(std::string_view text) {
  const Json::parser_callback_t depth_check = [](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxDepth) {
      throw ApiError(400,
                     "the JSON body nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return true;
  };
  try {
    Json body = Json::parse(text.begin(), text.end(), depth_check);
    if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
    return body;
  } catch (const Json::parse_error& e) {
    throw ApiError(400,
                   "the request body is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

ApiRequest parse_api_request(Endpoint endpoint, std::string_view text,
                             const GenerationOptions& defaults, const RequestLimits& limits) {
  const Json body = parse_json_body(text);
  Fields f(body);
  ApiRequest r;
  r.endpoint = endpoint;
  r.generation = defaults;
  r.generation.strategy = "sampling";
  r.generation.strategy_options.clear();
  r.model = f.string("model");
  const bool chat = endpoint == Endpoint::chat_completions;
  if (chat) {
    r.messages = read_messages(f.get("messages"));
    // The template writes the special tokens (BOS included) as text.
    r.generation.add_bos = false;
    r.generation.parse_special = true;
  } else {
    r.prompts = read_prompts(f.get("prompt"), limits);
    r.echo = f.boolean("echo", false);
    if (!f.string("suffix").empty()) refuse("suffix", "is not supported");
  }

  // max_tokens; chat clients may send the newer max_completion_tokens instead.
  int64_t max_tokens = chat ? limits.max_tokens_limit : 16;
  max_tokens = f.integer("max_tokens", max_tokens, 0, limits.max_tokens_limit);
  if (chat) {
    max_tokens = f.integer("max_completion_tokens", max_tokens, 0, limits.max_tokens_limit);
  }
  r.generation.max_tokens = static_cast<int32_t>(max_tokens);

  SamplingOptions& s = r.generation.sampling;
  s.temperature = static_cast<float>(f.number("temperature", s.temperature, {0, 2}));
  s.top_p = static_cast<float>(f.number("top_p", s.top_p, settings::top_p));
  s.top_k = static_cast<int32_t>(f.integer("top_k", s.top_k, 0, settings::top_k.max));
  s.min_p = static_cast<float>(f.number("min_p", s.min_p, settings::min_p));
  s.repeat_penalty =
      static_cast<float>(f.number("repeat_penalty", s.repeat_penalty, settings::repeat_penalty));
  if (const Json* seed = f.get("seed")) {
    s.seed = static_cast<uint64_t>(Fields::checked_integer(
        "seed", *seed, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
  }
  r.generation.stop = read_stop(f.get("stop"));
  r.generation.ignore_eos = f.boolean("ignore_eos", r.generation.ignore_eos);

  r.n = static_cast<int32_t>(f.integer("n", 1, 1, limits.max_choices));
  r.stream = f.boolean("stream", false);
  if (const Json* options = f.get("stream_options")) {
    if (!options->is_object()) refuse("stream_options", "must be an object");
    for (auto it = options->begin(); it != options->end(); ++it) {
      if (it.key() != "include_usage") refuse("stream_options." + it.key(), "is not supported");
      if (!it->is_boolean()) refuse("stream_options.include_usage", "must be a boolean");
      r.include_usage = it->get<bool>();
    }
    if (!r.stream) refuse("stream_options", "is only allowed with \"stream\": true");
  }

  // Beam search: hearth's "beams", or OpenAI's best_of (completions) read as beam search
  // with that many beams, returning the n best.
  r.beams = static_cast<int32_t>(f.integer("beams", 0, 0, limits.max_choices));
  if (!chat) {
    const int64_t best_of = f.integer("best_of", 1, 1, limits.max_choices);
    if (best_of > 1) {
      if (r.beams && r.beams != best_of) refuse("best_of", "and 'beams' disagree");
      r.beams = static_cast<int32_t>(best_of);
    }
  }
  if (r.beams > 0) {
    if (r.stream) refuse("stream", "cannot be used with beam search ('beams' or 'best_of')");
    if (r.n > r.beams) {
      refuse("n", "= " + std::to_string(r.n) + " is more than the " + std::to_string(r.beams) +
                      " beams searched");
    }
    r.generation.strategy = "trie_beam";
    r.generation.strategy_options = {{"num_beams", std::to_string(r.beams)},
                                     {"num_return_sequences", std::to_string(r.n)}};
    if (const Json* lp = f.get("length_penalty")) {
      if (!lp->is_number()) refuse("length_penalty", "must be a number");
      r.generation.strategy_options.emplace_back("length_penalty", lp->dump());
    }
    if (const Json* early = f.get("early_stopping")) {
      if (early->is_boolean()) {
        r.generation.strategy_options.emplace_back("early_stopping", early->dump());
      } else if (early->is_string() && *early == "never") {
        r.generation.strategy_options.emplace_back("early_stopping", "never");
      } else {
        refuse("early_stopping", "must be true, false or \"never\"");
      }
    }
  } else {
    for (const char* key : {"length_penalty", "early_stopping"}) {
      if (f.get(key)) refuse(key, "needs beam search ('beams')");
    }
  }

  r.knowledge = f.string("knowledge");
  f.string("user");  // who the caller is, for the caller's own records
  // Log-probabilities: chat's "logprobs": true with "top_logprobs" alternatives (0..20), or
  // completions' "logprobs": N alternatives (0..5), as OpenAI takes them.
  if (chat) {
    const bool wanted = f.boolean("logprobs", false);
    const int64_t top = f.integer("top_logprobs", -1, 0, 20);
    if (top >= 0 && !wanted) refuse("top_logprobs", "needs \"logprobs\": true");
    if (wanted) r.generation.logprobs = static_cast<int32_t>(std::max<int64_t>(top, 0));
  } else {
    r.generation.logprobs = static_cast<int32_t>(f.integer("logprobs", -1, 0, 5));
  }
  if (r.generation.logprobs >= 0) {
    if (r.beams > 0) refuse("logprobs", "cannot be used with beam search ('beams' or 'best_of')");
    if (r.echo) refuse("logprobs", "cannot be used with echo (the prompt's are not computed)");
  }
  refuse_unless_neutral(f);
  f.refuse_unknown();
  return r;
}

}  // namespace hearth::server
