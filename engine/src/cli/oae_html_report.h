// `hearth oae report`: run files of the oae meter in, DIR/report.json and one self-contained
// DIR/report.html out (charts drawn inline as SVG; nothing is fetched).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::cli {

inline constexpr size_t kMaxRunFileBytes = size_t{64} << 20;

// Checks one run file's text; throws hearth::Error naming `name` and the field when it is not
// JSON, not a run file, or lacks or mistypes a field the report uses.
void check_oae_run(std::string_view text, const std::string& name);

struct OaeReport {
  std::string json;  // report.json: the runs as read, and each method against its baseline
  std::string html;  // report.html: self-contained, charts inline
};

// Renders run files given as (name, text), pairing each with the run its baseline_label names.
OaeReport render_oae_report(const std::vector<std::pair<std::string, std::string>>& run_texts);

// Reads the run files, pairs each with the run its baseline_label names, and writes the report.
void write_oae_report(const std::string& dir, const std::vector<std::string>& run_paths);

}  // namespace hearth::cli
