#include "search/plugin_search.h"

#include <string>

#include "hearth/error.h"
#include "plugins/abi_struct.h"

namespace hearth {

PluginSearch::PluginSearch(plugins::PluginInstance& plugin, uint64_t request_id,
                           SequenceId sequence, std::vector<int32_t> prompt, int32_t max_tokens,
                           int32_t vocab_size,
                           std::vector<std::pair<std::string, std::string>> options)
    : plugin_(plugin),
      request_id_(request_id),
      sequence_(sequence),
      prompt_(std::move(prompt)),
      max_tokens_(max_tokens),
      vocab_size_(vocab_size),
      options_(std::move(options)) {
  for (const auto& [key, value] : options_) option_views_.push_back({key.c_str(), value.c_str()});
}

PluginSearch::~PluginSearch() {
  if (state_) plugin_.decode_end(state_);
}

void PluginSearch::take_best(std::vector<plugins::Hypothesis> hypotheses, SearchStep& out) {
  completed_ = true;
  out.finished = true;
  if (hypotheses.empty()) return;
  // The request's own stop rules then hold whatever the plugin returned.
  for (const plugins::Hypothesis& hypothesis : hypotheses) {
    for (int32_t token : hypothesis.tokens) {
      if (token < 0 || token >= vocab_size_) {
        throw Error("plugin '" + plugin_.name() + "' returned token " + std::to_string(token) +
                        " outside the vocabulary",
                    ErrorCode::failed);
      }
    }
    out.hypotheses.push_back({hypothesis.tokens, hypothesis.score});
  }
  out.tokens = std::move(hypotheses.front().tokens);
}

void PluginSearch::step(std::span<const float> logits, SearchStep& out) {
  if (!state_ && fed_.empty()) {
    auto request = plugins::make_abi_struct<hearth_decode_request>();
    request.request_id = request_id_;
    request.sequence = sequence_;
    request.prompt = prompt_.data();
    request.prompt_length = prompt_.size();
    request.prompt_logits = logits.data();
    request.max_tokens = max_tokens_;
    request.options = option_views_.data();
    request.option_count = option_views_.size();
    if (!plugin_.decodes_step_wise()) {
      take_best(plugin_.decode_run(request, created_), out);
      return;
    }
    state_ = plugin_.decode_begin(request, created_);
  }
  if (plugin_.decode_step(state_, fed_, logits, out.rows, created_)) {
    fed_.clear();
    take_best(plugin_.decode_result(state_, created_), out);
    return;
  }
  fed_ = out.rows;
}

}  // namespace hearth
