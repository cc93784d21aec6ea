#include "cli/oae_html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hearth/error.h"
#include "hearth/text.h"

namespace hearth::cli {
namespace {

using nlohmann::json;

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

void require(const json& object, const char* key, json::value_t type, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) throw Error(where + ": missing field '" + key + "'");
  const bool ok = type == json::value_t::number_float ? it->is_number()
                  : type == json::value_t::object     ? it->is_object()
                  : type == json::value_t::array      ? it->is_array()
                  : type == json::value_t::string     ? it->is_string()
                                                      : it->is_boolean();
  if (!ok) throw Error(where + ": field '" + key + "' has the wrong type");
}

json parse_run(std::string_view text, const std::string& name) {
  json run = json::parse(text.begin(), text.end(), nullptr, false);
  if (run.is_discarded()) throw Error(name + ": not JSON");
  if (!run.is_object()) throw Error(name + ": not a JSON object");
  const auto num = json::value_t::number_float;
  require(run, "format", json::value_t::string, name);
  if (run["format"] != "hearth-oae-run") {
    throw Error(name + ": field 'format' is not \"hearth-oae-run\"");
  }
  require(run, "version", num, name);
  if (run["version"].get<double>() != 1) throw Error(name + ": run file version not supported");
  require(run, "label", json::value_t::string, name);
  require(run, "energy_source", json::value_t::string, name);
  require(run, "energy_is_estimate", json::value_t::boolean, name);
  for (const char* k : {"wall_seconds", "meter_seconds", "peak_rss_bytes"})
    require(run, k, num, name);
  require(run, "totals", json::value_t::object, name);
  for (const char* k : {"requests", "prompt_tokens", "generated_tokens", "prefill_seconds",
                        "decode_seconds", "joules", "joules_per_token", "gco2e"}) {
    require(run["totals"], k, num, name + ": totals");
  }
  for (const char* list : {"requests", "throughput", "overheads"}) {
    require(run, list, json::value_t::array, name);
  }
  size_t i = 0;
  for (const json& r : run["requests"]) {
    const std::string where = name + ": requests[" + std::to_string(i++) + "]";
    if (!r.is_object()) throw Error(where + ": not an object");
    for (const char* k :
         {"start", "ttft_seconds", "e2e_seconds", "itl_p50_seconds", "itl_p95_seconds",
          "itl_max_seconds", "prefill_joules", "decode_joules", "generated_tokens"}) {
      require(r, k, num, where);
    }
  }
  i = 0;
  for (const json& b : run["throughput"]) {
    const std::string where = name + ": throughput[" + std::to_string(i++) + "]";
    if (!b.is_object()) throw Error(where + ": not an object");
    require(b, "t", num, where);
    require(b, "tokens", num, where);
  }
  i = 0;
  for (const json& o : run["overheads"]) {
    const std::string where = name + ": overheads[" + std::to_string(i++) + "]";
    if (!o.is_object()) throw Error(where + ": not an object");
    require(o, "source", json::value_t::string, where);
    for (const char* k : {"seconds", "tokens", "joules"}) require(o, k, num, where);
  }
  if (run.contains("baseline_label") && !run["baseline_label"].is_string()) {
    throw Error(name + ": field 'baseline_label' has the wrong type");
  }
  return run;
}

double mean_e2e(const json& run) {
  double sum = 0;
  for (const json& r : run["requests"]) sum += r["e2e_seconds"].get<double>();
  return run["requests"].empty() ? 0 : sum / static_cast<double>(run["requests"].size());
}

double per_request_joules(const json& run) {
  const double n = run["totals"]["requests"].get<double>();
  return n > 0 ? run["totals"]["joules"].get<double>() / n : 0;
}

double overhead(const json& run, const char* key) {
  double sum = 0;
  for (const json& o : run["overheads"]) sum += o[key].get<double>();
  return sum;
}

// Requests after which the method's overhead is repaid; -1 for never.
double break_even(double overhead_cost, double baseline_each, double method_each) {
  const double saving = baseline_each - method_each;
  if (saving <= 0) return -1;
  return overhead_cost / saving;
}

json compare(const json& method, const json& baseline) {
  json c;
  c["method"] = method["label"];
  c["baseline"] = baseline["label"];
  c["overhead_seconds"] = overhead(method, "seconds");
  c["overhead_joules"] = overhead(method, "joules");
  c["method_per_request_seconds"] = mean_e2e(method);
  c["baseline_per_request_seconds"] = mean_e2e(baseline);
  c["method_per_request_joules"] = per_request_joules(method);
  c["baseline_per_request_joules"] = per_request_joules(baseline);
  const double time = break_even(c["overhead_seconds"], c["baseline_per_request_seconds"],
                                 c["method_per_request_seconds"]);
  const double energy = break_even(c["overhead_joules"], c["baseline_per_request_joules"],
                                   c["method_per_request_joules"]);
  c["break_even_requests_time"] = time < 0 ? json("never") : json(time);
  c["break_even_requests_energy"] = energy < 0 ? json("never") : json(energy);
  return c;
}

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v, const char* format = "%.4g") {
  if (!std::isfinite(v)) return "–";
  char text[40];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// A shown number: its text, and the exact value for whoever checks the page against the JSON.
std::string cell(const std::string& key, double v) {
  return "<td data-key=\"" + esc(key) + "\" data-value=\"" + num(v, "%.17g") + "\">" + num(v) +
         "</td>";
}

// One SVG chart: polylines or bars in a box with axes, labelled.
class Chart {
 public:
  Chart(std::string title, std::string x_label, std::string y_label, double x_max, double y_max)
      : title_(std::move(title)),
        x_label_(std::move(x_label)),
        y_label_(std::move(y_label)),
        x_max_(x_max > 0 ? x_max : 1),
        y_max_(y_max > 0 ? y_max * 1.1 : 1) {}

  void line(const std::vector<std::pair<double, double>>& points, const char* color,
            const std::string& name, bool dashed = false) {
    std::string d;
    for (auto [x, y] : points) d += num(px(x), "%.1f") + "," + num(py(y), "%.1f") + " ";
    body_ += "<polyline class=\"series\" data-name=\"" + esc(name) + "\" data-points=\"" +
             std::to_string(points.size()) + "\" fill=\"none\" stroke=\"" + color +
             "\" stroke-width=\"2\"" + (dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" +
             d + "\"/>";
    legend(color, name);
  }
  void bar(double x0, double x1, double y, const char* color, const std::string& name) {
    body_ += "<rect class=\"bar\" data-name=\"" + esc(name) + "\" x=\"" + num(px(x0), "%.1f") +
             "\" y=\"" + num(py(y), "%.1f") + "\" width=\"" + num(px(x1) - px(x0), "%.1f") +
             "\" height=\"" + num(py(0) - py(y), "%.1f") + "\" fill=\"" + color + "\"/>";
  }
  void marker(double x, double y, const std::string& text) {
    body_ += "<circle class=\"marker\" cx=\"" + num(px(x), "%.1f") + "\" cy=\"" +
             num(py(y), "%.1f") + "\" r=\"6\" fill=\"#000\"/><text x=\"" + num(px(x) + 8, "%.1f") +
             "\" y=\"" + num(py(y) - 8, "%.1f") + "\">" + esc(text) + "</text>";
  }
  void legend(const char* color, const std::string& name) {
    const int y = kT + 10 + 16 * legends_++;
    body_ += "<rect x=\"" + std::to_string(kW - 190) + "\" y=\"" + std::to_string(y - 10) +
             "\" width=\"12\" height=\"12\" fill=\"" + color + "\"/><text x=\"" +
             std::to_string(kW - 172) + "\" y=\"" + std::to_string(y) + "\">" + esc(name) +
             "</text>";
  }
  std::string svg() const {
    return "<svg class=\"chart\" width=\"" + std::to_string(kW) + "\" height=\"" +
           std::to_string(kH) + "\" xmlns=\"http://www.w3.org/2000/svg\"><text x=\"10\" y=\"18\" " +
           "font-weight=\"bold\">" + esc(title_) + "</text><line x1=\"" + std::to_string(kL) +
           "\" y1=\"" + std::to_string(kH - kB) + "\" x2=\"" + std::to_string(kW - kR) +
           "\" y2=\"" + std::to_string(kH - kB) + "\" stroke=\"#444\"/><line x1=\"" +
           std::to_string(kL) + "\" y1=\"" + std::to_string(kT) + "\" x2=\"" + std::to_string(kL) +
           "\" y2=\"" + std::to_string(kH - kB) + "\" stroke=\"#444\"/><text x=\"" +
           std::to_string(kW / 2) + "\" y=\"" + std::to_string(kH - 6) + "\">" + esc(x_label_) +
           " (0 – " + num(x_max_) + ")</text><text x=\"4\" y=\"" + std::to_string(kT - 6) + "\">" +
           esc(y_label_) + " (max " + num(y_max_ / 1.1) + ")</text>" + body_ + "</svg>";
  }

 private:
  static constexpr int kW = 760, kH = 300, kL = 50, kR = 230, kT = 56, kB = 30;
  double px(double x) const { return kL + (kW - kL - kR) * std::clamp(x / x_max_, 0.0, 1.0); }
  double py(double y) const { return kH - kB - (kH - kB - kT) * std::clamp(y / y_max_, 0.0, 1.0); }
  std::string title_, x_label_, y_label_, body_;
  double x_max_, y_max_;
  int legends_ = 0;
};

std::string summary_table(const json& runs) {
  std::string h =
      "<table id=\"summary\"><tr><th>run</th><th>energy</th><th>requests</th><th>prompt "
      "tokens</th><th>generated tokens</th><th>TTFT p50 s</th><th>ITL p50 s</th><th>ITL p95 "
      "s</th><th>J/token</th><th>gCO2e</th><th>peak RSS MiB</th><th>meter s</th><th>meter "
      "share of compute</th><th>decode roofline</th><th>prefill roofline</th></tr>";
  for (const json& run : runs) {
    const std::string label = run["label"];
    std::vector<double> ttft, itl50, itl95;
    for (const json& r : run["requests"]) {
      ttft.push_back(r["ttft_seconds"]);
      itl50.push_back(r["itl_p50_seconds"]);
      itl95.push_back(r["itl_p95_seconds"]);
    }
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[(v.size() - 1) / 2];
    };
    const json& t = run["totals"];
    const double busy = t["prefill_seconds"].get<double>() + t["decode_seconds"].get<double>();
    auto share = [&](const char* k) {
      const json* roof = run.contains("roofline") ? &run["roofline"] : nullptr;
      if (!roof || !roof->is_object() || !roof->contains(k) || !(*roof)[k].is_number()) {
        return std::string("<td>–</td>");
      }
      return cell(label + ".roofline." + k, (*roof)[k].get<double>());
    };
    const std::string source = run["energy_source"];
    const bool estimate = run["energy_is_estimate"];
    h += "<tr><td>" + esc(label) + "</td><td>" + (source == "estimate" ? "" : esc(source) + " ") +
         (estimate ? "<b class=\"estimate\">estimate</b>" : "") + "</td>" +
         cell(label + ".totals.requests", t["requests"]) +
         cell(label + ".totals.prompt_tokens", t["prompt_tokens"]) +
         cell(label + ".totals.generated_tokens", t["generated_tokens"]) +
         cell(label + ".ttft_p50", median(ttft)) + cell(label + ".itl_p50", median(itl50)) +
         cell(label + ".itl_p95", median(itl95)) +
         cell(label + ".totals.joules_per_token", t["joules_per_token"]) +
         cell(label + ".totals.gco2e", t["gco2e"]) +
         cell(label + ".peak_rss_mib", run["peak_rss_bytes"].get<double>() / 1048576.0) +
         cell(label + ".meter_seconds", run["meter_seconds"]) +
         cell(label + ".meter_share", busy > 0 ? run["meter_seconds"].get<double>() / busy : 0) +
         share("decode_share") + share("prefill_share") + "</tr>";
  }
  h += "</table>";
  // What the roofline shares are shares of.
  for (const json& run : runs) {
    if (!run.contains("roofline") || !run["roofline"].is_object()) continue;
    const json& roof = run["roofline"];
    auto number = [&](const char* k) {
      return roof.contains(k) && roof[k].is_number() ? roof[k].get<double>() : -1.0;
    };
    const bool int8 = roof.contains("prefill_peak") && roof["prefill_peak"] == "int8";
    const double peak = number(int8 ? "peak_int8_gops" : "peak_gflops");
    h += "<p class=\"roofline\">" + esc(run["label"].get<std::string>()) + ": decode against " +
         (number("bandwidth_gbps") > 0 ? num(number("bandwidth_gbps")) + " GB/s memory read"
                                       : std::string("no measured bandwidth")) +
         ", prefill against " +
         (peak > 0 ? num(peak) + (int8 ? " GOP/s int8 dot products" : " GFLOP/s f32")
                   : std::string("no measured peak")) +
         "</p>";
  }
  return h;
}

std::string latency_chart(const json& runs) {
  double x_max = 0, y_max = 0;
  for (const json& run : runs) {
    x_max = std::max(x_max, static_cast<double>(run["requests"].size()));
    for (const json& r : run["requests"]) y_max = std::max(y_max, r["ttft_seconds"].get<double>());
  }
  Chart c("Time to first token per request", "request", "seconds", x_max, y_max);
  const double slot = 1.0 / std::max<size_t>(1, runs.size());
  for (size_t k = 0; k < runs.size(); ++k) {
    size_t i = 0;
    for (const json& r : runs[k]["requests"]) {
      const double x = static_cast<double>(i++) + slot * static_cast<double>(k);
      c.bar(x, x + slot * 0.9, r["ttft_seconds"], kColors[k % 6], runs[k]["label"]);
    }
    c.legend(kColors[k % 6], runs[k]["label"]);
  }
  std::string itl = "Inter-token latency per request";
  double itl_max = 0;
  for (const json& run : runs) {
    for (const json& r : run["requests"])
      itl_max = std::max(itl_max, r["itl_max_seconds"].get<double>());
  }
  Chart d(itl, "request", "seconds (p50 bar, p95 and max lines)", x_max, itl_max);
  for (size_t k = 0; k < runs.size(); ++k) {
    size_t i = 0;
    std::vector<std::pair<double, double>> p95, mx;
    for (const json& r : runs[k]["requests"]) {
      const double x = static_cast<double>(i++) + slot * static_cast<double>(k);
      d.bar(x, x + slot * 0.9, r["itl_p50_seconds"], kColors[k % 6], runs[k]["label"]);
      p95.push_back({x + slot * 0.45, r["itl_p95_seconds"]});
      mx.push_back({x + slot * 0.45, r["itl_max_seconds"]});
    }
    d.line(p95, kColors[k % 6], runs[k]["label"].get<std::string>() + " p95");
    d.line(mx, kColors[k % 6], runs[k]["label"].get<std::string>() + " max", true);
  }
  return c.svg() + d.svg();
}

std::string throughput_chart(const json& runs) {
  double x_max = 0, y_max = 0;
  for (const json& run : runs) {
    for (const json& b : run["throughput"]) {
      x_max = std::max(x_max, b["t"].get<double>() + 1);
      y_max = std::max(y_max, b["tokens"].get<double>());
    }
  }
  Chart c("Generated tokens per second over the run", "seconds", "tokens/s", x_max, y_max);
  for (size_t k = 0; k < runs.size(); ++k) {
    std::vector<std::pair<double, double>> points;
    for (const json& b : runs[k]["throughput"]) points.push_back({b["t"], b["tokens"]});
    c.line(points, kColors[k % 6], runs[k]["label"]);
  }
  return c.svg();
}

std::string energy_chart(const json& runs) {
  double y_max = 0;
  for (const json& run : runs)
    y_max = std::max(y_max, run["totals"]["joules_per_token"].get<double>());
  Chart c("Energy per generated token", "run", "J/token", static_cast<double>(runs.size()), y_max);
  for (size_t k = 0; k < runs.size(); ++k) {
    const std::string name = runs[k]["label"].get<std::string>() +
                             (runs[k]["energy_is_estimate"].get<bool>() ? " (estimate)" : "");
    c.bar(static_cast<double>(k) + 0.1, static_cast<double>(k) + 0.9,
          runs[k]["totals"]["joules_per_token"], kColors[k % 6], name);
    c.legend(kColors[k % 6], name);
  }
  return c.svg();
}

std::string overhead_table(const json& runs) {
  std::string h =
      "<table id=\"overheads\"><tr><th>run</th><th>source</th><th>seconds</th>"
      "<th>tokens</th><th>joules</th></tr>";
  for (const json& run : runs) {
    size_t i = 0;
    for (const json& o : run["overheads"]) {
      const std::string key = run["label"].get<std::string>() + ".overheads." + std::to_string(i++);
      h += "<tr><td>" + esc(run["label"]) + "</td><td>" + esc(o["source"]) + "</td>" +
           cell(key + ".seconds", o["seconds"]) + cell(key + ".tokens", o["tokens"]) +
           cell(key + ".joules", o["joules"]) + "</tr>";
    }
  }
  return h + "</table>";
}

std::string break_even_section(const json& comparisons) {
  std::string h;
  for (const json& c : comparisons) {
    const std::string m = c["method"], b = c["baseline"], key = "compare." + m;
    h += "<h3>" + esc(m) + " against " + esc(b) +
         "</h3><table class=\"comparison\"><tr><th></th>"
         "<th>overhead</th><th>" +
         esc(m) + " per request</th><th>" + esc(b) +
         " per request</th><th>break-even requests</th></tr>";
    for (const char* unit : {"seconds", "joules"}) {
      const std::string u = unit;
      const json& n = c[u == "seconds" ? "break_even_requests_time" : "break_even_requests_energy"];
      h += "<tr><td>" + u + "</td>" + cell(key + ".overhead_" + u, c["overhead_" + u]) +
           cell(key + ".method_per_request_" + u, c["method_per_request_" + u]) +
           cell(key + ".baseline_per_request_" + u, c["baseline_per_request_" + u]) +
           (n.is_string() ? "<td data-key=\"" + esc(key + ".break_even_" + u) + "\">never</td>"
                          : cell(key + ".break_even_" + u, n.get<double>())) +
           "</tr>";
    }
    h += "</table>";
    const json& n = c["break_even_requests_time"];
    const double over = c["overhead_seconds"], me = c["method_per_request_seconds"],
                 be = c["baseline_per_request_seconds"];
    const double span = std::max(10.0, n.is_number() ? std::ceil(n.get<double>() * 2) : 10.0);
    Chart chart(
        "Cumulative time: " + m + " (overhead + n × per request) and " + b + " (n × per request)",
        "requests n", "seconds", span, std::max(over + me * span, be * span));
    chart.line({{0, over}, {span, over + me * span}}, kColors[0], m);
    chart.line({{0, 0}, {span, be * span}}, kColors[1], b);
    if (n.is_number()) chart.marker(n, over + me * n.get<double>(), "N* = " + num(n));
    h += chart.svg();
  }
  return h;
}

}  // namespace

void check_oae_run(std::string_view text, const std::string& name) { parse_run(text, name); }

OaeReport render_oae_report(const std::vector<std::pair<std::string, std::string>>& run_texts) {
  if (run_texts.empty()) throw Error("hearth oae report: no run files given");
  json runs = json::array();
  for (const auto& [name, text] : run_texts) runs.push_back(parse_run(text, name));
  json comparisons = json::array();
  for (const json& run : runs) {
    if (!run.contains("baseline_label")) continue;
    const std::string wanted = run["baseline_label"];
    auto it =
        std::find_if(runs.begin(), runs.end(), [&](const json& r) { return r["label"] == wanted; });
    if (it == runs.end()) {
      throw Error("hearth oae report: run '" + run["label"].get<std::string>() +
                  "' names baseline '" + wanted + "', which is not among the run files");
    }
    comparisons.push_back(compare(run, *it));
  }
  const json report = {{"format", "hearth-oae-report"},
                       {"version", 1},
                       {"runs", runs},
                       {"comparisons", comparisons}};
  OaeReport out;
  out.json = report.dump(1) + "\n";
  out.html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>hearth OAE report</title>"
      "<style>body{font-family:sans-serif;margin:20px;max-width:1160px}table{border-collapse:"
      "collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px;"
      "text-align:right}svg{display:block;margin:12px 0;background:#fafafa;font-size:13px}"
      ".estimate{color:#b00}</style></head>"
      "<body><h1>hearth OAE report</h1><h2>Runs</h2>" +
      summary_table(runs) + "<h2>Break-even</h2>" + break_even_section(comparisons) +
      "<h2>Latency</h2>" + latency_chart(runs) + "<h2>Throughput</h2>" + throughput_chart(runs) +
      "<h2>Energy</h2>" + energy_chart(runs) + "<h2>Overhead ledger</h2>" + overhead_table(runs) +
      "</body></html>\n";
  return out;
}

void write_oae_report(const std::string& dir, const std::vector<std::string>& run_paths) {
  std::vector<std::pair<std::string, std::string>> texts;
  for (const std::string& path : run_paths) {
    texts.emplace_back(path, read_text_file(path, "run file", kMaxRunFileBytes));
  }
  const OaeReport report = render_oae_report(texts);
  std::filesystem::create_directories(dir);
  for (const auto& [name, text] :
       {std::pair<const char*, const std::string&>{"report.json", report.json},
        {"report.html", report.html}}) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw Error("hearth oae report: cannot write '" + path + "'");
  }
}

}  // namespace hearth::cli
