// Fuzz target for oae run files (`hearth oae report`): any text must be accepted or refused
// with hearth::Error, never crash, hang or allocate without bound. A run that is accepted
// renders into a complete report: alone when it names no other baseline, and beside a copy
// of itself relabelled as the baseline it names. Built as a libFuzzer target with
// -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/oae_html_report.h"
#include "hearth/error.h"

namespace {

void render_complete(const std::vector<std::pair<std::string, std::string>>& runs) {
  const hearth::cli::OaeReport report = hearth::cli::render_oae_report(runs);
  if (report.json.empty() || report.json.back() != '\n') std::abort();
  const std::string end = "</body></html>\n";
  if (report.html.size() < end.size() ||
      report.html.compare(report.html.size() - end.size(), end.size(), end) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    hearth::cli::check_oae_run(text, "/fuzz/run.json");
  } catch (const hearth::Error&) {
    return 0;
  }
  // Accepted: from here on, any refusal is a bug.
  try {
    const nlohmann::json run = nlohmann::json::parse(text);
    if (!run.contains("baseline_label") || run["baseline_label"] == run["label"]) {
      render_complete({{"/fuzz/run.json", text}});
      return 0;
    }
    nlohmann::json baseline = run;
    baseline["label"] = run["baseline_label"];
    baseline.erase("baseline_label");
    render_complete({{"/fuzz/run.json", text}, {"/fuzz/baseline.json", baseline.dump()}});
  } catch (const hearth::Error&) {
    std::abort();
  }
  return 0;
}
