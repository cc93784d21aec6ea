#include "request_ledger.h"

#include <algorithm>
#include <cmath>

namespace hearth::oae {
namespace {

// A long-running server keeps a day of per-second throughput; older bins are folded away.
constexpr size_t kMaxBins = 86400;
constexpr size_t kMaxOverheads = 1000;

}  // namespace

Percentiles percentiles(std::vector<double>& values) {
  Percentiles p;
  p.count = values.size();
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    const size_t n = values.size();
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    return values[std::clamp<size_t>(i, 1, n) - 1];
  };
  p.p50 = rank(0.50);
  p.p95 = rank(0.95);
  p.max = values.back();
  return p;
}

void RequestLedger::start(double now, double joules) {
  origin_ = now;
  settle_energy(0, joules, 0, nullptr);
}

bool RequestLedger::reads_energy(hearth_event_type type) {
  return type == HEARTH_EVENT_REQUEST_START || type == HEARTH_EVENT_PROMPT_DONE ||
         type == HEARTH_EVENT_REQUEST_END || type == HEARTH_EVENT_METHOD_OVERHEAD;
}

void RequestLedger::settle_energy(double now, double joules, double overhead_seconds,
                                  OverheadRecord* overhead) {
  if (!have_reading_) {
    // The first reading starts the ledger; a METHOD_OVERHEAD that comes first has no earlier
    // reading to measure against, which the meter avoids by reading once when created.
    have_reading_ = true;
    last_joules_ = joules;
    last_reading_time_ = now;
    return;
  }
  double delta = std::max(0.0, joules - last_joules_);
  const double interval = now - last_reading_time_;
  last_joules_ = std::max(last_joules_, joules);
  last_reading_time_ = now;
  if (overhead) {
    const double share = interval > 0 ? std::clamp(overhead_seconds / interval, 0.0, 1.0) : 1.0;
    overhead->joules = delta * share;
    delta -= overhead->joules;
  }
  if (active_.empty()) {
    totals_.idle_joules += delta;
    return;
  }
  const double each = delta / static_cast<double>(active_.size());
  for (auto& [id, r] : active_) {
    (r.prompt_done < 0 ? r.prefill_joules : r.decode_joules) += each;
  }
}

void RequestLedger::on_event(const hearth_event& event, double joules) {
  if (origin_ < 0) origin_ = event.time_seconds;
  const double t = event.time_seconds - origin_;
  last_time_ = std::max(last_time_, t);
  kv_live_ = event.kv_bytes;
  kv_shared_ = event.kv_shared_bytes;
  switch (event.type) {
    case HEARTH_EVENT_REQUEST_START: {
      settle_energy(t, joules, 0, nullptr);
      RequestRecord r;
      r.id = event.request_id;
      r.start = t;
      r.prompt_tokens = event.prompt_tokens;
      r.kv_peak_bytes = event.kv_bytes;
      active_[event.request_id] = std::move(r);
      return;
    }
    case HEARTH_EVENT_PROMPT_DONE: {
      settle_energy(t, joules, 0, nullptr);
      auto it = active_.find(event.request_id);
      if (it == active_.end()) return;
      it->second.prompt_done = t;
      it->second.prompt_tokens = event.prompt_tokens;
      it->second.kv_peak_bytes = std::max(it->second.kv_peak_bytes, event.kv_bytes);
      it->second.kv_shared_peak_bytes =
          std::max(it->second.kv_shared_peak_bytes, event.kv_shared_bytes);
      return;
    }
    case HEARTH_EVENT_TOKEN: {
      const auto bin = static_cast<size_t>(std::max(0.0, t));
      if (bin < kMaxBins) {
        if (bins_.size() <= bin) bins_.resize(bin + 1, 0);
        ++bins_[bin];
      }
      auto it = active_.find(event.request_id);
      if (it == active_.end()) return;
      RequestRecord& r = it->second;
      if (r.first_token < 0) {
        r.first_token = t;
      } else {
        r.itl.push_back(static_cast<float>(t - r.last_token));
      }
      r.last_token = t;
      r.generated_tokens = event.generated_tokens;
      r.kv_peak_bytes = std::max(r.kv_peak_bytes, event.kv_bytes);
      r.kv_shared_peak_bytes = std::max(r.kv_shared_peak_bytes, event.kv_shared_bytes);
      return;
    }
    case HEARTH_EVENT_DECODE_STEP: {
      auto it = active_.find(event.request_id);
      if (it == active_.end()) return;
      RequestRecord& r = it->second;
      if (r.last_step >= 0) r.step_gaps.push_back(static_cast<float>(t - r.last_step));
      r.last_step = t;
      it->second.kv_peak_bytes = std::max(it->second.kv_peak_bytes, event.kv_bytes);
      it->second.kv_shared_peak_bytes =
          std::max(it->second.kv_shared_peak_bytes, event.kv_shared_bytes);
      return;
    }
    case HEARTH_EVENT_REQUEST_END: {
      settle_energy(t, joules, 0, nullptr);
      auto it = active_.find(event.request_id);
      if (it == active_.end()) return;
      RequestRecord r = std::move(it->second);
      active_.erase(it);
      r.end = t;
      r.failed = event.status != HEARTH_OK;
      r.generated_tokens = event.generated_tokens;
      r.prompt_tokens = event.prompt_tokens;
      if (!r.step_gaps.empty()) r.itl = std::move(r.step_gaps);
      r.step_gaps = {};
      finish(std::move(r));
      return;
    }
    case HEARTH_EVENT_METHOD_OVERHEAD: {
      OverheadRecord o;
      o.source = event.source ? event.source : "";
      o.at = t;
      o.seconds = std::max(0.0, event.elapsed_seconds);
      o.tokens = std::max(0, event.prompt_tokens);
      settle_energy(t, joules, o.seconds, &o);
      totals_.overhead_seconds += o.seconds;
      totals_.overhead_joules += o.joules;
      if (overheads_.size() < kMaxOverheads) overheads_.push_back(std::move(o));
      return;
    }
  }
}

void RequestLedger::finish(RequestRecord r) {
  totals_.requests += 1;
  totals_.failed += r.failed ? 1 : 0;
  totals_.prompt_tokens += r.prompt_tokens;
  totals_.generated_tokens += r.generated_tokens;
  totals_.prefill_seconds += r.prefill_seconds();
  totals_.decode_seconds += r.decode_seconds();
  totals_.prefill_joules += r.prefill_joules;
  totals_.decode_joules += r.decode_joules;
  finished_.push_back(std::move(r));
  while (finished_.size() > keep_) finished_.pop_front();
}

std::vector<double> RequestLedger::pooled_itl() const {
  std::vector<double> all;
  for (const RequestRecord& r : finished_) all.insert(all.end(), r.itl.begin(), r.itl.end());
  return all;
}

}  // namespace hearth::oae
