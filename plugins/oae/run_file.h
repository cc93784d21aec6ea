// The oae meter's run file: one JSON object with the run's requests, totals, overheads,
// throughput over time and energy source (the format `hearth oae report` reads; see README).
#pragma once

#include <string>

#include "oae_options.h"
#include "request_ledger.h"

namespace hearth::oae {

struct RunSummary {
  std::string model, device, energy_source, energy_note;
  bool energy_is_estimate = true;
  double wall_seconds = 0, meter_seconds = 0;
  uint64_t peak_rss_bytes = 0, weight_bytes = 0;
  double params = 0;  // weights of the model's matrices, for the prefill roofline
};

// Roofline shares; negative when the bandwidth or peak compute was not given.
struct Roofline {
  double decode_share = -1, prefill_share = -1;
  double peak_gops = 0;           // the prefill ceiling used
  std::string peak_kind = "f32";  // which one: "f32" or "int8"
};

Roofline roofline(const RequestLedger& ledger, const RunSummary& run, const OaeOptions& options);
double grams_co2e(double joules, const OaeOptions& options);

std::string run_file_json(const RequestLedger& ledger, const RunSummary& run,
                          const OaeOptions& options);

}  // namespace hearth::oae
