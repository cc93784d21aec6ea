// A decoding plugin as a search strategy. Step-wise plugins (ABI 1.2) answer each step with
// rows that the scheduler batches with everyone else's; a plugin built before 1.2 runs the
// whole request itself inside its first step, so the scheduler waits for it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "plugins/plugin_instance.h"
#include "search/search_strategy.h"

namespace hearth {

class PluginSearch final : public SearchStrategy {
 public:
  PluginSearch(plugins::PluginInstance& plugin, uint64_t request_id, SequenceId sequence,
               std::vector<int32_t> prompt, int32_t max_tokens, int32_t vocab_size,
               std::vector<std::pair<std::string, std::string>> options = {});
  ~PluginSearch() override;

  void step(std::span<const float> logits, SearchStep& out) override;
  std::span<const SequenceId> extra_sequences() const override { return created_; }

  // Whether the plugin reached its result (not cancelled or failed on the way).
  bool completed() const { return completed_; }

 private:
  void take_best(std::vector<plugins::Hypothesis> hypotheses, SearchStep& out);

  plugins::PluginInstance& plugin_;
  uint64_t request_id_;
  SequenceId sequence_;
  std::vector<int32_t> prompt_;
  int32_t max_tokens_;
  int32_t vocab_size_;
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<hearth_kv> option_views_;  // options_ as the ABI passes them
  hearth_decode_state* state_ = nullptr;
  std::vector<BatchToken> fed_;
  std::vector<int32_t> created_;
  bool completed_ = false;
};

}  // namespace hearth
