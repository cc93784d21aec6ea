// hearth: chat templates, as instruction-tuned models ship them (the GGUF's
// tokenizer.chat_template): the Jinja subset they are written in, rendered as Hugging Face's
// apply_chat_template renders them (jinja2 with trim_blocks and lstrip_blocks, a tojson that
// keeps text and key order, raise_exception(), strftime_now(), loop controls).
//
// Parse once, render many: parse() refuses what the renderer cannot handle (a syntax error,
// an unsupported tag, filter or test) with the line and column, so an unusable template is a
// load-time error. A rendering is bounded in time, output and memory; a template that
// raises, or fails, throws hearth::Error naming the line and column.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace hearth {

struct ChatRenderOptions {
  bool add_generation_prompt = false;  // end with the opening of the assistant's turn
  std::string bos_token;               // the texts of the model's BOS and EOS tokens
  std::string eos_token;
  int64_t now_unix_seconds = -1;  // the time strftime_now() formats; -1 = the system clock
};

class ChatTemplate {
 public:
  // `name` says where the text came from ("model.gguf tokenizer.chat_template", a file
  // path); errors begin with it. Throws hearth::Error.
  static ChatTemplate parse(std::string_view text, const std::string& name);
  // Reads and parses a template file.
  static ChatTemplate load(const std::string& path);

  const std::string& name() const;
  const std::string& source() const;

  // Renders `messages`, a JSON array of message objects (role, content and any other fields
  // such as tool_calls). `variables`, a JSON object, adds variables (tools, documents,
  // date_string, ...) or overrides the defaults: tools and documents are none unless given,
  // as Hugging Face passes them. Use ordered_json to keep the order of keys that tojson
  // prints; plain json sorts them.
  std::string render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options,
                     const nlohmann::ordered_json* variables = nullptr) const;
  std::string render(const nlohmann::json& messages, const ChatRenderOptions& options,
                     const nlohmann::json* variables = nullptr) const;

 private:
  struct Parsed;
  explicit ChatTemplate(std::shared_ptr<const Parsed> parsed);
  std::shared_ptr<const Parsed> parsed_;  // immutable: copies share it, renders run at once
};

}  // namespace hearth
