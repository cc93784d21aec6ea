// The options of the oae metrics plugin.
//
//   [plugins.options]
//   label = "cag"                 # this run's name in reports (default "run")
//   baseline_label = "full"       # the run it is compared with (optional)
//   energy = "auto"               # auto: counters (RAPL, NVML, AMD SMI), else the estimate;
//                                 # "estimate": the estimate only
//   cpu_watts_per_core = 10       # the estimate's power per busy core (W)
//   grid_g_per_kwh = 475          # grid carbon intensity (gCO2e per kWh)
//   pue = 1.0                     # power usage effectiveness of the site
//   powercap_root = "/sys/class/powercap"
//   bandwidth_gbps = 26.1         # measured memory bandwidth, for the decode roofline share
//   peak_gflops = 300             # measured peak f32 compute, for the prefill roofline share
//   peak_int8_gops = 1200         # measured peak int8 dot-product rate: the prefill ceiling of
//                                 # quantized weights (under 1.5 bytes a weight), when given
//   keep_requests = 10000         # finished requests kept for percentiles and reports
#pragma once

#include <cstdint>
#include <string>

#include "hearth/plugin.hpp"

namespace hearth::oae {

struct OaeOptions {
  std::string label = "run";
  std::string baseline_label;
  bool counters = true;  // false: energy = "estimate"
  double cpu_watts_per_core = 10;
  double grid_g_per_kwh = 475;
  double pue = 1.0;
  std::string powercap_root = "/sys/class/powercap";
  double bandwidth_gbps = 0;  // 0 = not measured
  double peak_gflops = 0;     // 0 = not measured
  double peak_int8_gops = 0;  // 0 = not measured
  int64_t keep_requests = 10000;
};

// Reads and checks every option; a malformed or out-of-range value is refused, naming it.
OaeOptions parse_oae_options(const hearth::sdk::Options& options);

}  // namespace hearth::oae
