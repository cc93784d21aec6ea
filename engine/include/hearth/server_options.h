// hearth: how `hearth serve` listens and what it protects itself against. The deployment
// file's [server] table fills this; the command line overrides it. Valid ranges:
// settings.h (server section).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hearth {

struct ServerOptions {
  // host:port, [v6]:port or :port (all interfaces: say so explicitly). Port 0 picks a free
  // port (Server::port() tells which). Loopback unless the deployer widens it.
  std::string listen = "127.0.0.1:8080";
  // A file of API keys, one per line ('#' starts a comment). Empty = no keys: any local
  // client may call. With keys, every endpoint but /health needs "Authorization: Bearer KEY".
  std::string api_key_file;
  std::string model_alias;  // the model's id in /v1/models; "" = the file's name without .gguf
  int32_t io_threads = 2;   // threads reading and writing sockets (generation has its own)

  // Limits on what one client can make the server hold.
  size_t max_body_bytes = size_t{1} << 20;  // request body (413 beyond)
  size_t max_header_bytes = 16 << 10;       // request line and headers (431 beyond)
  int32_t max_connections = 256;            // open sockets; more are closed at once
  int32_t max_prompt_tokens = 0;            // 0 = the context size less one
  int32_t max_tokens_limit = 4096;          // the largest max_tokens a request may ask for
  int32_t max_choices = 8;                  // n, best_of and beams at most
  // Requests generating at once (each shares the scheduler's batches); beyond that, up to
  // max_queued_requests wait in order; beyond that, 429 with Retry-After.
  int32_t max_concurrent_requests = 16;
  int32_t max_queued_requests = 64;

  // Timeouts, in seconds: a request must arrive whole within read_timeout of its first byte;
  // a keep-alive connection may sit idle for idle_timeout; each write to a client (a slow
  // reader) must complete within write_timeout, or the connection is closed and its request
  // cancelled.
  double read_timeout = 30;
  double idle_timeout = 60;
  double write_timeout = 30;
  // On SIGTERM/SIGINT: stop accepting, let requests in flight finish for this long, then
  // cancel what is left and exit.
  double shutdown_grace = 10;
};

}  // namespace hearth
