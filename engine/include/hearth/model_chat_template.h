// hearth: a model file's chat template (tokenizer.chat_template) and the texts of its BOS
// and EOS tokens, read from the metadata without loading the weights — what `hearth template`
// shows and what an Engine renders conversations with.
#pragma once

#include <optional>
#include <string>

#include "hearth/chat_template.h"

namespace hearth {

struct ModelChatTemplate {
  std::optional<ChatTemplate>
      chat_template;      // absent when neither the file nor an override has one
  std::string bos_token;  // the tokens' texts; "" when the vocabulary has none
  std::string eos_token;
};

// Reads `model_path`'s metadata and parses its template, or the file `template_path` instead
// when it is not empty. Throws hearth::Error naming the model or template file and, for a
// template the renderer cannot handle, the line and column.
ModelChatTemplate read_model_chat_template(const std::string& model_path,
                                           const std::string& template_path = "");

}  // namespace hearth
