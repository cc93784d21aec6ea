// hearth: a workload for `hearth oae run` — requests with arrival times, replayed against a
// method and its baseline, so that a method's one-time overhead can be weighed against what
// it saves per request at the traffic a site really has.
//
//   name = "cag-handbook"
//   documents = ["docs/handbook.md"]   # the knowledge both variants answer from (optional)
//   max_tokens = 32                     # per request, unless a request says otherwise
//   [method]
//   label = "cag"
//   knowledge = "cache"                 # documents preloaded into the KV cache once (cag)
//   [baseline]
//   label = "full-prompt"
//   knowledge = "prompt"                # documents placed before every question
//   [[requests]]
//   at = 0.0                            # seconds after the run starts
//   prompt = "Who may sign a purchase order?"
//
// A variant may also set `beams` (trie_beam with K beams), `unshared_kv` (each beam copies
// the cache: the reference beam search) and `kv_heads` (the gqa_retrofit conversion).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

struct WorkloadVariant {
  std::string label;
  std::string knowledge;  // "" (none), "cache" or "prompt"
  int32_t beams = 0;      // 0 = sampling (greedy)
  bool unshared_kv = false;
  std::string kv_heads;  // as --kv-heads takes it; "" = no conversion
};

struct WorkloadRequest {
  double at = 0;  // arrival, seconds after the run starts
  std::string prompt;
  int32_t max_tokens = 0;  // 0 = the workload's
};

struct Workload {
  std::string name;
  std::vector<std::string> documents;  // paths, relative ones resolved against the file's folder
  int32_t max_tokens = 32;
  WorkloadVariant method, baseline;
  std::vector<WorkloadRequest> requests;  // in arrival order
};

inline constexpr size_t kMaxWorkloadRequests = 100000;
inline constexpr double kMaxWorkloadSeconds = 7 * 24 * 3600.0;

// Parses a workload file; errors name the file, line and column. Both variants need a label,
// different ones; a variant with knowledge needs documents.
Workload parse_workload(std::string_view text, const std::string& path);
Workload load_workload(const std::string& path);

}  // namespace hearth
