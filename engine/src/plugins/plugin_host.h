// The host side of one plugin instance: the services table it receives and the state those
// services need (which engine, which phase, the last error message).
#pragma once

#include <string>
#include <vector>

#include "hearth/plugin.h"
#include "plugins/engine_services.h"

// The opaque handle of plugin.h, defined here for the host.
struct hearth_host {
  enum class Phase { loading, ready };

  hearth::plugins::EngineServices* engine = nullptr;
  std::string plugin_name;
  Phase phase = Phase::loading;
  std::string error;          // set by set_error(), cleared before each call into the plugin
  std::vector<float> logits;  // rows of the last forward()
  // During a call for one decoding request: where the sequences the plugin makes are recorded,
  // so the request drops whatever is left of them when it ends.
  std::vector<int32_t>* created_sequences = nullptr;
  // During step-wise decoding calls: the scheduler runs the passes, so forward() is refused.
  bool forward_refused = false;
  // Tokens this plugin has fed through forward() or calibrate(), for the cost of its
  // one-time work.
  uint64_t forwarded_tokens = 0;
  std::string config_dir;  // what config_dir() answers
};

namespace hearth::plugins {

// The services table for `host` (every member of this host's ABI version).
hearth_host_services make_services(hearth_host* host);

// Memory in use now, from the engine's own counters and the process's resident size.
hearth_memory_stats memory_stats(uint64_t weight_bytes, const KvCache* cache);

}  // namespace hearth::plugins
