// request_log: a metrics plugin that appends one JSON line per finished request to a file,
// for log shippers and quick looks with jq:
//
//   {"request_id":3,"status":0,"prompt_tokens":12,"generated_tokens":64,"ttft_s":0.0021,
//    "decode_tok_s":812.4,"total_s":0.0797}
//
// ttft_s is the prompt's prefill up to the first logits (prompt_done - request_start);
// decode_tok_s counts the tokens after the first one, which the prefill already paid for.
// Options: path (required) - the file to append to; it is opened once, at load.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hearth/plugin.hpp"

namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

std::string format(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

class RequestLog : public hearth::sdk::MetricsPlugin {
 public:
  RequestLog(Host host, const Options& options)
      : MetricsPlugin(host, options), path_(options.require_string("path")) {
    out_.open(path_, std::ios::app);
    if (!out_) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "cannot open '" + path_ + "'");
  }

  void on_event(const hearth_event& event) override {
    switch (event.type) {
      case HEARTH_EVENT_REQUEST_START:
        open_[event.request_id].start = event.time_seconds;
        break;
      case HEARTH_EVENT_PROMPT_DONE:
        open_[event.request_id].prompt_done = event.time_seconds;
        break;
      case HEARTH_EVENT_REQUEST_END:
        finish(event);
        break;
      default:
        break;
    }
  }

  std::vector<std::pair<std::string, std::string>> snapshot() override {
    return {{"requests", std::to_string(requests_)},
            {"prompt_tokens", std::to_string(prompt_tokens_)},
            {"generated_tokens", std::to_string(generated_tokens_)},
            {"mean_ttft_s", format(timed_requests_ ? ttft_sum_ / timed_requests_ : 0.0)}};
  }

  void write_report(const std::string& path) override {
    std::ofstream report(path);
    report << "request_log: " << path_ << '\n';
    for (const auto& [key, value] : snapshot()) report << "  " << key << ": " << value << '\n';
    report.close();
    if (!report) throw Error(HEARTH_ERROR_FAILED, "cannot write '" + path + "'");
  }

 private:
  struct Timing {
    double start = -1;
    double prompt_done = -1;
  };

  void finish(const hearth_event& end) {
    Timing timing;
    if (auto open = open_.find(end.request_id); open != open_.end()) {
      timing = open->second;
      open_.erase(open);
    }
    const bool started = timing.start >= 0;
    const bool prefilled = started && timing.prompt_done >= 0;
    const double ttft = prefilled ? timing.prompt_done - timing.start : 0;
    const double decode_seconds = prefilled ? end.time_seconds - timing.prompt_done : 0;
    const double decode_tok_s = decode_seconds > 0 && end.generated_tokens > 1
                                    ? (end.generated_tokens - 1) / decode_seconds
                                    : 0;

    ++requests_;
    prompt_tokens_ += static_cast<uint64_t>(end.prompt_tokens);
    generated_tokens_ += static_cast<uint64_t>(end.generated_tokens);
    if (prefilled) {
      ttft_sum_ += ttft;
      ++timed_requests_;
    }

    // A request that started before the plugin was loaded has no timings: null, not zero.
    out_ << "{\"request_id\":" << end.request_id << ",\"status\":" << static_cast<int>(end.status)
         << ",\"prompt_tokens\":" << end.prompt_tokens
         << ",\"generated_tokens\":" << end.generated_tokens
         << ",\"ttft_s\":" << (prefilled ? format(ttft) : "null")
         << ",\"decode_tok_s\":" << (prefilled ? format(decode_tok_s) : "null")
         << ",\"total_s\":" << (started ? format(end.time_seconds - timing.start) : "null")
         << "}\n";
    // One line per request: flushing keeps the file current for `tail -f` at little cost.
    out_.flush();
    if (!out_) {
      host().log(HEARTH_LOG_WARNING, "cannot write '" + path_ + "'");
      out_.clear();  // try again with the next request (e.g. once the disk has room)
    }
  }

  std::string path_;
  std::ofstream out_;
  std::unordered_map<uint64_t, Timing> open_;
  uint64_t requests_ = 0;
  uint64_t prompt_tokens_ = 0;
  uint64_t generated_tokens_ = 0;
  uint64_t timed_requests_ = 0;
  double ttft_sum_ = 0;
};

}  // namespace

HEARTH_PLUGIN(RequestLog, "request_log", "1.0", "appends one JSON line per finished request")
