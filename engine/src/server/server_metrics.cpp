#include "server/server_metrics.h"

#include <sstream>

namespace hearth::server {

ServerStats server_stats(const detail::ServerState& server) {
  const detail::ServerCounters& c = server.counters;
  ServerStats s;
  s.connections_accepted = c.connections_accepted;
  s.connections_refused = c.connections_refused;
  s.requests = c.requests;
  s.rejected_busy = c.rejected_busy;
  s.client_errors = c.client_errors;
  s.server_errors = c.server_errors;
  s.cancelled_by_disconnect = c.cancelled_by_disconnect;
  s.prompt_tokens = c.prompt_tokens;
  s.completion_tokens = c.completion_tokens;
  s.open_connections = c.open_connections;
  s.generating = server.admission.running();
  s.queued = server.admission.waiting();
  return s;
}

std::string server_metrics_text(detail::ServerState& server) {
  const ServerStats s = server_stats(server);
  const SchedulerStats scheduler = server.engine.scheduler_stats();
  const KvCacheStats kv = server.engine.kv_cache_stats();
  struct Metric {
    const char *name, *type, *help;
    double value;
  };
  const Metric metrics[] = {
      {"server_connections_accepted_total", "counter", "Connections accepted.",
       double(s.connections_accepted)},
      {"server_connections_refused_total", "counter",
       "Connections closed at once: max_connections were open.", double(s.connections_refused)},
      {"server_connections_open", "gauge", "Open connections.", double(s.open_connections)},
      {"server_http_requests_total", "counter", "HTTP requests read whole.", double(s.requests)},
      {"server_client_errors_total", "counter", "Requests answered 4xx.", double(s.client_errors)},
      {"server_server_errors_total", "counter", "Requests answered 5xx.", double(s.server_errors)},
      {"server_rejected_busy_total", "counter", "Requests answered 429 (queue full).",
       double(s.rejected_busy)},
      {"server_cancelled_by_disconnect_total", "counter",
       "Generations cancelled because their client went away.", double(s.cancelled_by_disconnect)},
      {"server_requests_generating", "gauge", "Completions admitted and running.",
       double(s.generating)},
      {"server_requests_queued", "gauge", "Completions waiting for a place.", double(s.queued)},
      {"server_prompt_tokens_total", "counter", "Prompt tokens of finished completions.",
       double(s.prompt_tokens)},
      {"server_completion_tokens_total", "counter", "Tokens generated for completions.",
       double(s.completion_tokens)},
      {"scheduler_passes_total", "counter", "Forward passes run.", double(scheduler.passes)},
      {"scheduler_rows_total", "counter", "Batch rows fed over all passes.",
       double(scheduler.rows)},
      {"scheduler_requests_running", "gauge", "Engine requests admitted.",
       double(scheduler.running)},
      {"scheduler_requests_queued", "gauge", "Engine requests waiting for KV room.",
       double(scheduler.queued)},
      {"kv_cache_capacity_bytes", "gauge", "The KV cache's budget.", double(kv.capacity_bytes)},
      {"kv_cache_live_bytes", "gauge", "KV cache bytes in use.", double(kv.live_bytes)},
      {"kv_cache_shared_bytes", "gauge", "KV cache bytes shared by several sequences.",
       double(kv.shared_bytes)},
      {"kv_cache_used_blocks", "gauge", "KV cache blocks in use.", double(kv.used_blocks)},
      {"kv_cache_peak_live_bytes", "gauge", "The most KV cache bytes in use at once.",
       double(kv.peak_live_bytes)},
  };
  std::ostringstream out;
  out.precision(17);
  for (const Metric& m : metrics) {
    out << "# HELP hearth_" << m.name << ' ' << m.help << "\n# TYPE hearth_" << m.name << ' '
        << m.type << "\nhearth_" << m.name << ' ' << m.value << '\n';
  }
  out << server.engine.metrics_prometheus();
  return out.str();
}

}  // namespace hearth::server
