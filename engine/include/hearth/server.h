// hearth: the OpenAI-compatible HTTP server (`hearth serve`). One Server serves one loaded
// Engine on one listening socket with a pool of I/O threads; every request it accepts goes to
// the engine's scheduler, so HTTP clients, beam searches and knowledge-set questions share its
// batches like any other caller.
//
// Endpoints: POST /v1/completions, POST /v1/chat/completions (both with SSE streaming),
// GET /v1/models, GET /health (ready), GET /health/live, GET /metrics (Prometheus text).
//
// Threading: start() returns once the socket listens; the server then runs on its own
// threads. shutdown() and port() may be called from any thread; the Engine must outlive the
// Server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hearth/engine.h"
#include "hearth/generation.h"
#include "hearth/server_options.h"

namespace hearth {

namespace detail {
struct ServerState;
}

// What the server has done since it started, for /metrics and tests.
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // beyond max_connections
  uint64_t requests = 0;             // HTTP requests read whole
  uint64_t rejected_busy = 0;        // answered 429
  uint64_t client_errors = 0;        // answered 4xx (429 included)
  uint64_t server_errors = 0;        // answered 5xx
  uint64_t cancelled_by_disconnect = 0;
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  int32_t open_connections = 0, generating = 0, queued = 0;
};

class Server {
 public:
  // Binds, loads the API keys, and starts serving. `defaults` are the generation settings a
  // request starts from before its own fields apply (the deployment's [sampling] table).
  // Throws hearth::Error naming the address or file when it cannot.
  static std::unique_ptr<Server> start(Engine& engine, const ServerOptions& options,
                                       const GenerationOptions& defaults = {});
  ~Server();  // shutdown(0) if it was not shut down

  uint16_t port() const;
  const std::string& model_id() const;
  ServerStats stats() const;

  // Stops accepting connections; /health answers 503 from now on. Requests in flight get
  // `grace` to finish, then the rest are cancelled (their KV blocks freed) and every
  // connection is closed. Returns when the I/O threads have stopped.
  void shutdown(std::chrono::milliseconds grace);

 private:
  explicit Server(std::unique_ptr<detail::ServerState> state);
  std::unique_ptr<detail::ServerState> state_;
};

}  // namespace hearth
