#include "run_file.h"

#include <cmath>
#include <cstdio>

namespace hearth::oae {
namespace {

// A JSON writer for the few shapes the run file has; values only ever come from this file.
class Json {
 public:
  void open(char c) {
    comma();
    out_ += c;
    first_ = true;
  }
  void close(char c) {
    out_ += c;
    first_ = false;
  }
  void key(const char* k) {
    comma();
    quote(k);
    out_ += ':';
    first_ = true;
  }
  void value(double v) {
    comma();
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", v);
    out_ += text;
  }
  void value(const std::string& s) {
    comma();
    quote(s);
  }
  void value(bool b) {
    comma();
    out_ += b ? "true" : "false";
  }
  void null() {
    comma();
    out_ += "null";
  }
  template <class T>
  void field(const char* k, const T& v) {
    key(k);
    value(v);
  }
  void number_or_null(const char* k, double v) {
    key(k);
    if (v < 0)
      null();
    else
      value(v);
  }
  std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void quote(const std::string& s) {
    out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += static_cast<char>(c);
      } else if (c < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", c);
        out_ += esc;
      } else {
        out_ += static_cast<char>(c);
      }
    }
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace

double grams_co2e(double joules, const OaeOptions& options) {
  return joules / 3.6e6 * options.grid_g_per_kwh * options.pue;
}

Roofline roofline(const RequestLedger& ledger, const RunSummary& run, const OaeOptions& options) {
  Roofline r;
  // A decode pass reads every weight once and the live KV cache; the median inter-token
  // latency is the time of one pass.
  std::vector<double> itl = ledger.pooled_itl();
  const Percentiles p = percentiles(itl);
  if (options.bandwidth_gbps > 0 && p.count > 0 && p.p50 > 0) {
    double kv = 0;
    size_t n = 0;
    for (const RequestRecord& q : ledger.finished()) {
      kv += static_cast<double>(q.kv_peak_bytes);
      ++n;
    }
    const double bytes = static_cast<double>(run.weight_bytes) + (n ? kv / n : 0);
    r.decode_share = bytes / p.p50 / (options.bandwidth_gbps * 1e9);
  }
  // Prefill does two operations per weight per prompt token: f32 multiply-adds for float
  // weights, int8 dot products for quantized ones (under 1.5 bytes a weight).
  const Totals& t = ledger.totals();
  const bool quantized = run.params > 0 && static_cast<double>(run.weight_bytes) < 1.5 * run.params;
  r.peak_gops =
      quantized && options.peak_int8_gops > 0 ? options.peak_int8_gops : options.peak_gflops;
  r.peak_kind = quantized && options.peak_int8_gops > 0 ? "int8" : "f32";
  if (r.peak_gops > 0 && t.prefill_seconds > 0 && run.params > 0) {
    r.prefill_share = 2 * run.params * static_cast<double>(t.prompt_tokens) / t.prefill_seconds /
                      (r.peak_gops * 1e9);
  }
  return r;
}

std::string run_file_json(const RequestLedger& ledger, const RunSummary& run,
                          const OaeOptions& options) {
  const Totals& t = ledger.totals();
  const double joules = t.prefill_joules + t.decode_joules;
  Json j;
  j.open('{');
  j.field("format", std::string("hearth-oae-run"));
  j.field("version", 1.0);
  j.field("label", options.label);
  if (!options.baseline_label.empty()) j.field("baseline_label", options.baseline_label);
  j.field("model", run.model);
  j.field("device", run.device);
  j.field("energy_source", run.energy_source);
  j.field("energy_is_estimate", run.energy_is_estimate);
  j.field("energy_note", run.energy_note);
  j.field("grid_g_per_kwh", options.grid_g_per_kwh);
  j.field("pue", options.pue);
  j.field("wall_seconds", run.wall_seconds);
  j.field("meter_seconds", run.meter_seconds);
  j.field("peak_rss_bytes", static_cast<double>(run.peak_rss_bytes));

  const Roofline roof = roofline(ledger, run, options);
  j.key("roofline");
  j.open('{');
  j.number_or_null("bandwidth_gbps", options.bandwidth_gbps > 0 ? options.bandwidth_gbps : -1);
  j.number_or_null("peak_gflops", options.peak_gflops > 0 ? options.peak_gflops : -1);
  j.number_or_null("peak_int8_gops", options.peak_int8_gops > 0 ? options.peak_int8_gops : -1);
  j.field("prefill_peak", std::string(roof.peak_kind));
  j.number_or_null("decode_share", roof.decode_share);
  j.number_or_null("prefill_share", roof.prefill_share);
  j.close('}');

  j.key("totals");
  j.open('{');
  j.field("requests", static_cast<double>(t.requests));
  j.field("failed", static_cast<double>(t.failed));
  j.field("prompt_tokens", static_cast<double>(t.prompt_tokens));
  j.field("generated_tokens", static_cast<double>(t.generated_tokens));
  j.field("prefill_seconds", t.prefill_seconds);
  j.field("decode_seconds", t.decode_seconds);
  j.field("prefill_joules", t.prefill_joules);
  j.field("decode_joules", t.decode_joules);
  j.field("joules", joules);
  j.field("idle_joules", t.idle_joules);
  j.field("joules_per_token",
          t.generated_tokens > 0 ? joules / static_cast<double>(t.generated_tokens) : 0.0);
  j.field("gco2e", grams_co2e(joules, options));
  j.close('}');

  j.key("requests");
  j.open('[');
  for (const RequestRecord& r : ledger.finished()) {
    std::vector<double> itl(r.itl.begin(), r.itl.end());
    const Percentiles p = percentiles(itl);
    j.open('{');
    j.field("id", static_cast<double>(r.id));
    j.field("start", r.start);
    j.field("status", std::string(r.failed ? "failed" : "ok"));
    j.field("prompt_tokens", static_cast<double>(r.prompt_tokens));
    j.field("generated_tokens", static_cast<double>(r.generated_tokens));
    j.field("ttft_seconds", r.ttft());
    j.field("e2e_seconds", r.end - r.start);
    j.field("prefill_seconds", r.prefill_seconds());
    j.field("decode_seconds", r.decode_seconds());
    j.field("itl_p50_seconds", p.p50);
    j.field("itl_p95_seconds", p.p95);
    j.field("itl_max_seconds", p.max);
    j.field("prefill_joules", r.prefill_joules);
    j.field("decode_joules", r.decode_joules);
    j.field("kv_peak_bytes", static_cast<double>(r.kv_peak_bytes));
    j.field("kv_shared_peak_bytes", static_cast<double>(r.kv_shared_peak_bytes));
    j.close('}');
  }
  j.close(']');

  j.key("throughput");
  j.open('[');
  const std::vector<uint32_t>& bins = ledger.tokens_per_second();
  for (size_t i = 0; i < bins.size(); ++i) {
    j.open('{');
    j.field("t", static_cast<double>(i));
    j.field("tokens", static_cast<double>(bins[i]));
    j.close('}');
  }
  j.close(']');

  j.key("overheads");
  j.open('[');
  for (const OverheadRecord& o : ledger.overheads()) {
    j.open('{');
    j.field("source", o.source);
    j.field("seconds", o.seconds);
    j.field("tokens", static_cast<double>(o.tokens));
    j.field("joules", o.joules);
    j.close('}');
  }
  j.close(']');
  j.close('}');
  std::string text = j.take();
  text += '\n';
  return text;
}

}  // namespace hearth::oae
