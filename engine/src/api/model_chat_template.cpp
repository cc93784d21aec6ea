#include "hearth/model_chat_template.h"

#include "api/engine_impl.h"
#include "gguf/gguf_file.h"
#include "hearth/error.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

ModelChatTemplate read_chat_template(const gguf::File& file, const Vocabulary& vocab,
                                     const std::string& template_path) {
  ModelChatTemplate chat;
  const auto token_text = [&](int32_t id) {
    return id >= 0 && static_cast<size_t>(id) < vocab.tokens.size() ? vocab.tokens[id]
                                                                    : std::string();
  };
  chat.bos_token = token_text(vocab.bos);
  chat.eos_token = token_text(vocab.eos);
  if (!template_path.empty()) {
    chat.chat_template = ChatTemplate::load(template_path);
  } else if (auto text = file.get_string("tokenizer.chat_template")) {
    chat.chat_template = ChatTemplate::parse(*text, file.path() + " tokenizer.chat_template");
  }
  return chat;
}

ModelChatTemplate read_model_chat_template(const std::string& model_path,
                                           const std::string& template_path) {
  auto file = gguf::File::open(model_path);
  return read_chat_template(*file, load_vocabulary(*file), template_path);
}

}  // namespace hearth
