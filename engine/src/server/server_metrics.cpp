#include "server/server_metrics.h"

#include <sstream>

namespace hearth::server {
namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help,
            double value) {
  out << "# HELP hearth_" << name << ' ' << help << "\n# TYPE hearth_" << name << ' ' << type
      << "\nhearth_" << name << ' ' << value << '\n';
}

}  // namespace

std::string server_metrics_text(detail::ServerState& server) {
  const detail::ServerCounters& c = server.counters;
  const SchedulerStats scheduler = server.engine.scheduler_stats();
  const KvCacheStats kv = server.engine.kv_cache_stats();
  std::ostringstream out;
  out.precision(17);
  metric(out, "server_connections_accepted_total", "counter", "Connections accepted.",
         c.connections_accepted);
  metric(out, "server_connections_refused_total", "counter",
         "Connections closed at once: max_connections were open.", c.connections_refused);
  metric(out, "server_connections_open", "gauge", "Open connections.", c.open_connections);
  metric(out, "server_http_requests_total", "counter", "HTTP requests read whole.", c.requests);
  metric(out, "server_client_errors_total", "counter", "Requests answered 4xx.", c.client_errors);
  metric(out, "server_server_errors_total", "counter", "Requests answered 5xx.", c.server_errors);
  metric(out, "server_rejected_busy_total", "counter", "Requests answered 429 (queue full).",
         c.rejected_busy);
  metric(out, "server_cancelled_by_disconnect_total", "counter",
         "Generations cancelled because their client went away.", c.cancelled_by_disconnect);
  metric(out, "server_requests_generating", "gauge", "Completions admitted and running.",
         server.admission.running());
  metric(out, "server_requests_queued", "gauge", "Completions waiting for a place.",
         server.admission.waiting());
  metric(out, "server_prompt_tokens_total", "counter", "Prompt tokens of finished completions.",
         c.prompt_tokens);
  metric(out, "server_completion_tokens_total", "counter", "Tokens generated for completions.",
         c.completion_tokens);
  metric(out, "scheduler_passes_total", "counter", "Forward passes run.", scheduler.passes);
  metric(out, "scheduler_rows_total", "counter", "Batch rows fed over all passes.", scheduler.rows);
  metric(out, "scheduler_requests_running", "gauge", "Engine requests admitted.",
         scheduler.running);
  metric(out, "scheduler_requests_queued", "gauge", "Engine requests waiting for KV room.",
         scheduler.queued);
  metric(out, "kv_cache_capacity_bytes", "gauge", "The KV cache's budget.", kv.capacity_bytes);
  metric(out, "kv_cache_live_bytes", "gauge", "KV cache bytes in use.", kv.live_bytes);
  metric(out, "kv_cache_shared_bytes", "gauge", "KV cache bytes shared by several sequences.",
         kv.shared_bytes);
  metric(out, "kv_cache_used_blocks", "gauge", "KV cache blocks in use.", kv.used_blocks);
  metric(out, "kv_cache_peak_live_bytes", "gauge", "The most KV cache bytes in use at once.",
         kv.peak_live_bytes);
  out << server.engine.metrics_prometheus();
  return out.str();
}

}  // namespace hearth::server
