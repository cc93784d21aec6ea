// Metrics plugins' snapshots as Prometheus text exposition (format 0.0.4), for /metrics.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hearth::detail {

using Snapshot = std::vector<std::pair<std::string, std::string>>;

// Every numeric value becomes `hearth_<plugin>_<key> <value>` (keys ending in _total are
// counters, the rest gauges); the others are labels of one `hearth_<plugin>_info 1` line.
// Names are reduced to [a-zA-Z0-9_]; label values are escaped.
std::string prometheus_text(const std::vector<std::pair<std::string, Snapshot>>& plugins);

}  // namespace hearth::detail
