// The OAE meters (metrics): what each request and each method really costs — tokens, time to
// first token, inter-token latency, KV bytes, peak memory, energy read at phase boundaries
// (RAPL, NVML, AMD SMI, or a labelled estimate), CO2e, roofline shares — and the one-time
// overheads other plugins report, for `hearth oae report` to weigh against a baseline.
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "energy_counters.h"
#include "hearth/plugin.hpp"
#include "oae_options.h"
#include "request_ledger.h"
#include "run_file.h"

namespace hearth::oae {
namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

uint64_t peak_rss_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Weights of the model's matrices: attention, feed-forward and the output projection.
double matrix_params(const hearth_model_desc& m) {
  double total = static_cast<double>(m.vocab_size) * m.dim;
  for (int32_t l = 0; l < m.layers; ++l) {
    const double kv = m.layer_kv_heads ? m.layer_kv_heads[l] : m.heads;
    const double q = static_cast<double>(m.heads) * m.head_dim;
    total += m.dim * (2 * q + 2 * kv * m.head_dim) + 3.0 * m.dim * m.ffn_dim;
  }
  return total;
}

EnergyOptions energy_options(const OaeOptions& o) {
  EnergyOptions e;
  e.powercap_root = o.powercap_root;
  e.counters = o.counters;
  e.cpu_watts_per_core = o.cpu_watts_per_core;
  return e;
}

std::string fixed(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

class OaeMeter : public hearth::sdk::MetricsPlugin {
 public:
  OaeMeter(Host host, const Options& options)
      : MetricsPlugin(host, options),
        options_(parse_oae_options(options)),
        energy_(energy_options(options_)),
        ledger_(static_cast<size_t>(options_.keep_requests)) {
    // The first reading: one-time work reported before any request is measured from here.
    ledger_.start(host.now(), energy_.joules());
    host.log(HEARTH_LOG_INFO, "energy from " + energy_.source() +
                                  (energy_.is_estimate() ? " (estimate)" : "") +
                                  (energy_.note().empty() ? "" : ": " + energy_.note()));
  }

  void on_event(const hearth_event& event) override {
    const auto begun = std::chrono::steady_clock::now();
    const double joules = RequestLedger::reads_energy(event.type) ? energy_.joules() : 0;
    ledger_.on_event(event, joules);
    if (event.device && device_.empty()) device_ = event.device;
    meter_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  }

  std::vector<std::pair<std::string, std::string>> snapshot() override {
    const Totals& t = ledger_.totals();
    std::vector<double> ttft, e2e;
    for (const RequestRecord& r : ledger_.finished()) {
      ttft.push_back(r.ttft());
      e2e.push_back(r.end - r.start);
    }
    std::vector<double> itl = ledger_.pooled_itl();
    const Percentiles pt = percentiles(ttft), pe = percentiles(e2e), pi = percentiles(itl);
    const RunSummary run = summary();
    const Roofline roof = roofline(ledger_, run, options_);
    const double joules = t.prefill_joules + t.decode_joules;
    std::vector<std::pair<std::string, std::string>> s = {
        {"requests_total", std::to_string(t.requests)},
        {"requests_failed_total", std::to_string(t.failed)},
        {"requests_running", std::to_string(ledger_.running())},
        {"prompt_tokens_total", std::to_string(t.prompt_tokens)},
        {"generated_tokens_total", std::to_string(t.generated_tokens)},
        {"ttft_seconds_p50", fixed(pt.p50)},
        {"ttft_seconds_p95", fixed(pt.p95)},
        {"itl_seconds_p50", fixed(pi.p50)},
        {"itl_seconds_p95", fixed(pi.p95)},
        {"itl_seconds_max", fixed(pi.max)},
        {"e2e_seconds_p50", fixed(pe.p50)},
        {"e2e_seconds_p95", fixed(pe.p95)},
        {"prefill_seconds_total", fixed(t.prefill_seconds)},
        {"decode_seconds_total", fixed(t.decode_seconds)},
        {"prefill_joules_total", fixed(t.prefill_joules)},
        {"decode_joules_total", fixed(t.decode_joules)},
        {"idle_joules_total", fixed(t.idle_joules)},
        {"joules_per_token",
         fixed(t.generated_tokens > 0 ? joules / static_cast<double>(t.generated_tokens) : 0)},
        {"gco2e_total", fixed(grams_co2e(joules, options_))},
        {"energy_source", energy_.source()},
        {"energy_is_estimate", energy_.is_estimate() ? "1" : "0"},
        {"overheads_total", std::to_string(ledger_.overheads().size())},
        {"overhead_seconds_total", fixed(t.overhead_seconds)},
        {"overhead_joules_total", fixed(t.overhead_joules)},
        {"kv_live_bytes", std::to_string(ledger_.kv_live_bytes())},
        {"kv_shared_bytes", std::to_string(ledger_.kv_shared_bytes())},
        {"peak_rss_bytes", std::to_string(run.peak_rss_bytes)},
        {"meter_seconds_total", fixed(meter_seconds_)},
    };
    if (roof.decode_share >= 0) s.push_back({"decode_roofline_share", fixed(roof.decode_share)});
    if (roof.prefill_share >= 0) {
      s.push_back({"prefill_roofline_share", fixed(roof.prefill_share)});
    }
    return s;
  }

  void write_report(const std::string& path) override {
    const std::string text = run_file_json(ledger_, summary(), options_);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw Error(HEARTH_ERROR_FAILED, "cannot write the run file '" + path + "'");
  }

 private:
  RunSummary summary() {
    const hearth_model_desc& model = host().model();
    RunSummary run;
    run.model = model.name ? model.name : "";
    run.device = device_.empty() ? "cpu" : device_;
    run.energy_source = energy_.source();
    run.energy_is_estimate = energy_.is_estimate();
    run.energy_note = energy_.note();
    run.wall_seconds = ledger_.last_event();
    run.meter_seconds = meter_seconds_;
    run.peak_rss_bytes = peak_rss_bytes();
    run.params = matrix_params(model);
    try {
      run.weight_bytes = host().memory_stats().weight_bytes;
    } catch (const Error&) {
      run.weight_bytes = 0;  // an older host: no decode roofline
    }
    return run;
  }

  OaeOptions options_;
  EnergyMeter energy_;
  RequestLedger ledger_;
  double meter_seconds_ = 0;
  std::string device_;
};

}  // namespace
}  // namespace hearth::oae

HEARTH_PLUGIN(hearth::oae::OaeMeter, "oae", "0.1.0",
              "OAE meters: per-request latency, energy, CO2e, roofline and method overheads")
