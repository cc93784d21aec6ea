// Test fixture (metrics): counts the core's events per type and remembers the token counts of
// the last finished request. Built twice: as is, and with HEARTH_PLUGIN_TARGET_MINOR=0 as
// test_counter_v1_0, a plugin declaring ABI 1.0 (no write_report in its vtable).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "hearth/plugin.hpp"

#if HEARTH_PLUGIN_TARGET_MINOR == 0
#define TEST_COUNTER_NAME "test_counter_v1_0"
#else
#define TEST_COUNTER_NAME "test_counter"
#endif

namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

class TestCounter : public hearth::sdk::MetricsPlugin {
 public:
  TestCounter(Host host, const Options& options) : MetricsPlugin(host, options) {}

  void on_event(const hearth_event& event) override {
    switch (event.type) {
      case HEARTH_EVENT_REQUEST_START:
        ++request_start_;
        max_running_ = std::max(max_running_, request_start_ - request_end_);
        break;
      case HEARTH_EVENT_PROMPT_DONE:
        ++prompt_done_;
        break;
      case HEARTH_EVENT_TOKEN:
        ++token_;
        break;
      case HEARTH_EVENT_REQUEST_END:
        ++request_end_;
        last_prompt_tokens_ = event.prompt_tokens;
        last_generated_tokens_ = event.generated_tokens;
        break;
      case HEARTH_EVENT_METHOD_OVERHEAD:
        ++method_overhead_;
        last_overhead_tokens_ = event.prompt_tokens;
        break;
      case HEARTH_EVENT_DECODE_STEP:
        ++decode_step_;
        max_live_branches_ = std::max(max_live_branches_, event.live_branches);
        max_kv_shared_bytes_ = std::max(max_kv_shared_bytes_, event.kv_shared_bytes);
        break;
    }
  }

  std::vector<std::pair<std::string, std::string>> snapshot() override {
    return {{"request_start", std::to_string(request_start_)},
            {"prompt_done", std::to_string(prompt_done_)},
            {"token", std::to_string(token_)},
            {"request_end", std::to_string(request_end_)},
            {"last_prompt_tokens", std::to_string(last_prompt_tokens_)},
            {"last_generated_tokens", std::to_string(last_generated_tokens_)},
            {"decode_step", std::to_string(decode_step_)},
            {"max_live_branches", std::to_string(max_live_branches_)},
            {"max_kv_shared_bytes", std::to_string(max_kv_shared_bytes_)},
            {"max_running", std::to_string(max_running_)},
            {"method_overhead", std::to_string(method_overhead_)},
            {"last_overhead_tokens", std::to_string(last_overhead_tokens_)}};
  }

  void write_report(const std::string& path) override {
    std::ofstream out(path);
    for (const auto& [key, value] : snapshot()) out << key << '=' << value << '\n';
    out.close();
    if (!out) throw Error(HEARTH_ERROR_FAILED, "cannot write '" + path + "'");
  }

 private:
  uint64_t request_start_ = 0;
  uint64_t prompt_done_ = 0;
  uint64_t token_ = 0;
  uint64_t request_end_ = 0;
  int32_t last_prompt_tokens_ = 0;
  int32_t last_generated_tokens_ = 0;
  uint64_t decode_step_ = 0;
  int32_t max_live_branches_ = 0;
  uint64_t max_kv_shared_bytes_ = 0;
  uint64_t max_running_ = 0;  // requests started and not yet ended, at most
  uint64_t method_overhead_ = 0;
  int32_t last_overhead_tokens_ = 0;  // what the last one-time work fed the model
};

}  // namespace

HEARTH_PLUGIN(TestCounter, TEST_COUNTER_NAME, "1.0", "counts the core's events")
