// The server's /metrics page: its own counters, the scheduler's and the KV cache's state,
// then every metrics plugin's counters (the OAE meters when loaded), as Prometheus text.
#pragma once

#include <string>

#include "server/server_state.h"

namespace hearth::server {

// The server's counters and gauges at this moment.
ServerStats server_stats(const detail::ServerState& server);

std::string server_metrics_text(detail::ServerState& server);

}  // namespace hearth::server
