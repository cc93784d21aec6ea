#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/arg_parser.h"
#include "cli/commands.h"
#include "hearth/chat_template.h"
#include "hearth/error.h"
#include "hearth/model_chat_template.h"
#include "hearth/settings.h"

namespace hearth::cli {
namespace {

// A conversation file: a JSON array of messages, or an object whose "messages" is that array
// and whose other members (tools, documents, date_string...) become template variables.
nlohmann::ordered_json read_conversation(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the messages file");
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > settings::max_prompt_file_bytes) {
      throw Error(path + ": the messages file is larger than " +
                  std::to_string(settings::max_prompt_file_bytes >> 20) + " MiB");
    }
  }
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

}  // namespace

int template_command(int argc, char** argv) {
  std::string model, template_path, messages_path, bos, eos;
  bool add_generation_prompt = false;
  ArgParser parser(
      "hearth template (-m MODEL | --chat-template FILE) --messages FILE.json "
      "[--add-generation-prompt] [--bos TEXT --eos TEXT]",
      "Prints the text a conversation becomes through the model's chat template (or FILE), as "
      "the model will be sent it. The messages file is a JSON array of {\"role\", \"content\", "
      "...} objects, or an object with \"messages\" and further variables such as \"tools\". "
      "A template that raises or fails prints its error and exits 1.");
  parser.option({"-m", "--model"}, "FILE",
                "model file (GGUF): its tokenizer.chat_template and BOS/EOS texts", &model);
  parser.option({"--chat-template"}, "FILE", "a template file, instead of the model's",
                &template_path);
  parser.option({"--messages"}, "FILE", "the conversation (JSON)", &messages_path);
  parser.flag({"--add-generation-prompt"}, "end with the opening of the assistant's turn",
              &add_generation_prompt);
  parser.option({"--bos"}, "TEXT", "bos_token's text (default: the model's, or empty)", &bos);
  parser.option({"--eos"}, "TEXT", "eos_token's text (default: the model's, or empty)", &eos);
  if (!parser.parse(argc, argv)) return 0;
  if (model.empty() && template_path.empty()) {
    throw Error("no template: give -m MODEL or --chat-template FILE");
  }
  if (messages_path.empty()) throw Error("no conversation: give --messages FILE.json");

  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  std::optional<ChatTemplate> chat;
  if (!model.empty()) {
    ModelChatTemplate from_model = read_model_chat_template(model, template_path);
    if (!from_model.chat_template) {
      throw Error(model +
                  ": the model has no chat template (tokenizer.chat_template); give one "
                  "with --chat-template FILE");
    }
    chat = std::move(from_model.chat_template);
    options.bos_token = from_model.bos_token;
    options.eos_token = from_model.eos_token;
  } else {
    chat = ChatTemplate::load(template_path);
  }
  if (parser.given("--bos")) options.bos_token = bos;
  if (parser.given("--eos")) options.eos_token = eos;

  const nlohmann::ordered_json conversation = read_conversation(messages_path);
  std::string text;
  if (conversation.is_object()) {
    if (!conversation.contains("messages")) {
      throw Error(messages_path + ": an object needs a \"messages\" array");
    }
    nlohmann::ordered_json variables = conversation;
    variables.erase("messages");
    text = chat->render(conversation["messages"], options, &variables);
  } else {
    text = chat->render(conversation, options);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace hearth::cli
