#include "hearth/chat_template.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chat/evaluator.h"
#include "chat/globals.h"
#include "chat/json_value.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "chat/render_limits.h"
#include "hearth/error.h"

namespace hearth {

struct ChatTemplate::Parsed {
  std::string name;
  std::string source;
  chat::Body body;
};

ChatTemplate::ChatTemplate(std::shared_ptr<const Parsed> parsed) : parsed_(std::move(parsed)) {}

ChatTemplate ChatTemplate::parse(std::string_view text, const std::string& name) {
  if (text.size() > chat::kMaxTemplateBytes) {
    throw Error(name + ": the chat template has " + std::to_string(text.size()) +
                " bytes, more than the limit of " + std::to_string(chat::kMaxTemplateBytes));
  }
  auto parsed = std::make_shared<Parsed>();
  parsed->name = name;
  parsed->source = std::string(text);
  parsed->body = chat::parse_template(chat::lex(text, name), name);
  return ChatTemplate(std::move(parsed));
}

ChatTemplate ChatTemplate::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the chat template file");
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > chat::kMaxTemplateBytes) {
      throw Error(path + ": the chat template is larger than the limit of " +
                  std::to_string(chat::kMaxTemplateBytes) + " bytes");
    }
  }
  if (in.bad()) throw Error(path + ": cannot read the chat template file");
  return parse(text, path);
}

const std::string& ChatTemplate::name() const { return parsed_->name; }
const std::string& ChatTemplate::source() const { return parsed_->source; }

namespace {

void set_variable(chat::Dict& scope, const std::string& name, chat::Value value) {
  for (auto& entry : scope.entries) {
    if (entry.first == name) {
      entry.second = std::move(value);
      return;
    }
  }
  scope.entries.emplace_back(name, std::move(value));
}

template <typename Json>
std::string render_with(const std::string& name, const chat::Body& body, const Json& messages,
                        const ChatRenderOptions& options, const Json* variables) {
  if (!messages.is_array()) throw Error(name + ": the messages must be a JSON array");
  if (variables && !variables->is_object() && !variables->is_null()) {
    throw Error(name + ": the template variables must be a JSON object");
  }
  chat::Dict scope;
  try {
    chat::add_globals(scope, options.now_unix_seconds);
    scope.entries.emplace_back("messages", chat::from_json(messages));
    scope.entries.emplace_back("add_generation_prompt", chat::Value(options.add_generation_prompt));
    scope.entries.emplace_back("bos_token", chat::Value(options.bos_token));
    scope.entries.emplace_back("eos_token", chat::Value(options.eos_token));
    scope.entries.emplace_back("tools", chat::Value::none());
    scope.entries.emplace_back("documents", chat::Value::none());
    if (variables && variables->is_object()) {
      for (auto it = variables->begin(); it != variables->end(); ++it) {
        set_variable(scope, it.key(), chat::from_json(it.value()));
      }
    }
  } catch (const chat::Fault& fault) {
    throw Error(name + ": " + fault.what());
  }
  chat::RenderBudget budget;
  return chat::render_template(body, name, std::move(scope), budget);
}

}  // namespace

std::string ChatTemplate::render(const nlohmann::ordered_json& messages,
                                 const ChatRenderOptions& options,
                                 const nlohmann::ordered_json* variables) const {
  return render_with(parsed_->name, parsed_->body, messages, options, variables);
}

std::string ChatTemplate::render(const nlohmann::json& messages, const ChatRenderOptions& options,
                                 const nlohmann::json* variables) const {
  return render_with(parsed_->name, parsed_->body, messages, options, variables);
}

}  // namespace hearth
