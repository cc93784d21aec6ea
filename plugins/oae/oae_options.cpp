#include "oae_options.h"

#include <cctype>

namespace hearth::oae {
namespace {

// Labels appear in file names, reports and Prometheus label values: keep them plain.
std::string checked_label(const std::string& value, const char* option) {
  if (value.size() > 64) {
    throw hearth::sdk::Error(HEARTH_ERROR_INVALID_ARGUMENT,
                             std::string("option '") + option + "': at most 64 characters");
  }
  for (unsigned char c : value) {
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ' ')) {
      throw hearth::sdk::Error(
          HEARTH_ERROR_INVALID_ARGUMENT,
          std::string("option '") + option + "': only letters, digits, ' ', '_', '-' and '.'");
    }
  }
  return value;
}

}  // namespace

OaeOptions parse_oae_options(const hearth::sdk::Options& options) {
  OaeOptions o;
  o.label = checked_label(options.get_string("label", o.label), "label");
  if (o.label.empty()) {
    throw hearth::sdk::Error(HEARTH_ERROR_INVALID_ARGUMENT, "option 'label': empty");
  }
  o.baseline_label = checked_label(options.get_string("baseline_label", ""), "baseline_label");
  const std::string energy = options.get_string("energy", "auto");
  if (energy != "auto" && energy != "estimate") {
    throw hearth::sdk::Error(HEARTH_ERROR_INVALID_ARGUMENT,
                             "option 'energy': \"auto\" or \"estimate\", not \"" + energy + "\"");
  }
  o.counters = energy == "auto";
  o.cpu_watts_per_core = options.get_float("cpu_watts_per_core", o.cpu_watts_per_core, 0, 10000);
  o.grid_g_per_kwh = options.get_float("grid_g_per_kwh", o.grid_g_per_kwh, 0, 10000);
  o.pue = options.get_float("pue", o.pue, 1.0, 10.0);
  o.powercap_root = options.get_string("powercap_root", o.powercap_root);
  o.bandwidth_gbps = options.get_float("bandwidth_gbps", 0, 0, 1e6);
  o.peak_gflops = options.get_float("peak_gflops", 0, 0, 1e9);
  o.peak_int8_gops = options.get_float("peak_int8_gops", 0, 0, 1e9);
  o.keep_requests = options.get_int("keep_requests", o.keep_requests, 1, 1000000);
  return o;
}

}  // namespace hearth::oae
