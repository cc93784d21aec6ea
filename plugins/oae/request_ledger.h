// What the oae meter records: each request's phases (prefill from admission to its prompt
// being in the cache, decode from there to its end), their times and the energy of each
// phase, the method overheads plugins report, and generated tokens per second of the run.
//
// Energy is read at phase boundaries only. The energy of the interval between two readings is
// split equally among the requests running in it, each in the phase it was in, so the
// requests' joules add up to what the machine spent while serving them (overlapping requests
// are not counted twice); an interval with no request running is idle, except the share a
// METHOD_OVERHEAD event claims: its elapsed time over the interval's length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "hearth/plugin.h"

namespace hearth::oae {

struct RequestRecord {
  uint64_t id = 0;
  double start = 0;         // run seconds
  double prompt_done = -1;  // run seconds; -1 while prefilling
  double first_token = -1;  // run seconds of the first generated token
  double last_token = -1;
  double end = -1;
  bool failed = false;
  int32_t prompt_tokens = 0, generated_tokens = 0;
  // Seconds between consecutive generated tokens. A search that hands over its tokens when it
  // ends (beam search) reports DECODE_STEP events instead: then the seconds between its steps.
  std::vector<float> itl;
  std::vector<float> step_gaps;
  double last_step = -1;
  double prefill_joules = 0, decode_joules = 0;
  uint64_t kv_peak_bytes = 0, kv_shared_peak_bytes = 0;

  double ttft() const { return (first_token >= 0 ? first_token : end) - start; }
  double prefill_seconds() const { return (prompt_done >= 0 ? prompt_done : end) - start; }
  double decode_seconds() const { return prompt_done >= 0 ? end - prompt_done : 0; }
};

struct OverheadRecord {
  std::string source;
  double at = 0, seconds = 0, joules = 0;
  int64_t tokens = 0;
};

struct Totals {
  int64_t requests = 0, failed = 0, prompt_tokens = 0, generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0, prefill_joules = 0, decode_joules = 0;
  double overhead_seconds = 0, overhead_joules = 0, idle_joules = 0;
};

struct Percentiles {
  double p50 = 0, p95 = 0, max = 0;
  size_t count = 0;
};

// Nearest-rank percentiles of `values` (sorted in place); zeros when empty.
Percentiles percentiles(std::vector<double>& values);

class RequestLedger {
 public:
  explicit RequestLedger(size_t keep_requests) : keep_(keep_requests) {}

  // The run's origin and first energy reading (one-time work is measured from here).
  void start(double now, double joules);
  // Whether `type` is a phase boundary, at which the caller reads the energy counter.
  static bool reads_energy(hearth_event_type type);
  // `joules` is the counter's reading for boundary events (ignored for the others).
  void on_event(const hearth_event& event, double joules);

  const std::deque<RequestRecord>& finished() const { return finished_; }
  const std::vector<OverheadRecord>& overheads() const { return overheads_; }
  const Totals& totals() const { return totals_; }
  const std::vector<uint32_t>& tokens_per_second() const { return bins_; }
  double first_event() const { return origin_; }
  double last_event() const { return last_time_; }
  bool started() const { return origin_ >= 0; }
  size_t running() const { return active_.size(); }
  uint64_t kv_live_bytes() const { return kv_live_; }
  uint64_t kv_shared_bytes() const { return kv_shared_; }
  // Inter-token latencies of the kept requests, pooled.
  std::vector<double> pooled_itl() const;

 private:
  void settle_energy(double now, double joules, double overhead_seconds, OverheadRecord* overhead);
  void finish(RequestRecord record);

  size_t keep_;
  double origin_ = -1, last_time_ = 0;
  double last_joules_ = 0, last_reading_time_ = 0;
  bool have_reading_ = false;
  std::map<uint64_t, RequestRecord> active_;
  std::deque<RequestRecord> finished_;
  std::vector<OverheadRecord> overheads_;
  std::vector<uint32_t> bins_;
  Totals totals_;
  uint64_t kv_live_ = 0, kv_shared_ = 0;
};

}  // namespace hearth::oae
