// What a running Server shares between its acceptor, its connections and shutdown(). Only
// the server's two Asio translation units include this (Beast is heavy to compile).
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hearth/engine.h"
#include "hearth/server.h"
#include "server/admission.h"
#include "server/api_keys.h"

namespace hearth::server {
// What shutdown can ask of an open connection, from any thread.
class SessionControl {
 public:
  virtual ~SessionControl() = default;
  // Cancels the generation in flight: its response ends with what was made.
  virtual void cancel_generation() = 0;
  // Closes the connection; a generation in flight is cancelled.
  virtual void close() = 0;
};
}  // namespace hearth::server

namespace hearth::detail {

struct ServerCounters {
  std::atomic<uint64_t> connections_accepted{0}, connections_refused{0}, requests{0},
      rejected_busy{0}, client_errors{0}, server_errors{0}, cancelled_by_disconnect{0},
      prompt_tokens{0}, completion_tokens{0};
  std::atomic<int32_t> open_connections{0};
};

struct ServerState {
  ServerState(Engine& e, const ServerOptions& o, const GenerationOptions& d)
      : engine(e),
        options(o),
        defaults(d),
        admission(o.max_concurrent_requests, o.max_queued_requests),
        acceptor(io) {}

  Engine& engine;
  const ServerOptions options;
  const GenerationOptions defaults;
  server::ApiKeys keys;
  std::string model_id;
  int64_t model_created = 0;  // the model file's modification time (Unix seconds)
  server::Admission admission;
  ServerCounters counters;
  std::atomic<bool> draining{false};
  std::atomic<uint64_t> next_id{1};
  // Engine requests whose on_done has not run yet: their callbacks post to `io`, so it must
  // outlive them.
  std::atomic<int32_t> live_engine_requests{0};
  // Connections between reading a request whole and writing its response's last byte:
  // shutdown's grace waits for these too, so an answer made in time is delivered in full.
  std::atomic<int32_t> responding{0};

  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor;
  uint16_t port = 0;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::once_flag shut_down;

  // Open connections, for shutdown to reach them.
  std::mutex sessions_mutex;
  std::map<uint64_t, std::weak_ptr<server::SessionControl>> sessions;
};

}  // namespace hearth::detail
