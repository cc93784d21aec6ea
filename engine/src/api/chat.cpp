#include <nlohmann/json.hpp>

#include "api/engine_impl.h"
#include "hearth/error.h"

namespace hearth {

bool Engine::has_chat_template() const { return impl_->chat.chat_template.has_value(); }

std::string Engine::render_chat(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                const nlohmann::ordered_json* variables) const {
  if (!impl_->chat.chat_template) {
    throw Error(impl_->options.model_path +
                ": the model has no chat template (tokenizer.chat_template); give one with "
                "--chat-template FILE or [model] chat_template");
  }
  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.bos_token = impl_->chat.bos_token;
  options.eos_token = impl_->chat.eos_token;
  return impl_->chat.chat_template->render(messages, options, variables);
}

}  // namespace hearth
