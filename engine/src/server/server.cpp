#include "hearth/server.h"

#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "hearth/error.h"
#include "hearth/settings.h"
#include "server/http_session.h"
#include "server/listen_address.h"
#include "server/server_metrics.h"
#include "server/server_state.h"

namespace hearth {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

void check(const ServerOptions& o) {
  struct IntSetting {
    const char* name;
    int64_t value;
    settings::IntRange range;
  };
  const IntSetting ints[] = {
      {"io_threads", o.io_threads, settings::io_threads},
      {"max_body_bytes", static_cast<int64_t>(o.max_body_bytes), settings::max_body_bytes},
      {"max_header_bytes", static_cast<int64_t>(o.max_header_bytes), settings::max_header_bytes},
      {"max_connections", o.max_connections, settings::max_connections},
      {"max_prompt_tokens", o.max_prompt_tokens, settings::max_prompt_tokens},
      {"max_tokens_limit", o.max_tokens_limit, settings::max_tokens_limit},
      {"max_choices", o.max_choices, settings::max_choices},
      {"max_concurrent_requests", o.max_concurrent_requests, settings::max_concurrent_requests},
      {"max_queued_requests", o.max_queued_requests, settings::max_queued_requests}};
  for (const IntSetting& s : ints) {
    if (std::string why = settings::check(s.value, s.range); !why.empty()) {
      throw Error(std::string("server option ") + s.name + " = " + why);
    }
  }
  const std::pair<const char*, double> timeouts[] = {{"read_timeout", o.read_timeout},
                                                     {"idle_timeout", o.idle_timeout},
                                                     {"write_timeout", o.write_timeout}};
  for (const auto& [name, value] : timeouts) {
    if (std::string why = settings::check(value, settings::timeout_seconds); !why.empty()) {
      throw Error(std::string("server option ") + name + " = " + why);
    }
  }
  if (std::string why = settings::check(o.shutdown_grace, settings::shutdown_grace); !why.empty()) {
    throw Error("server option shutdown_grace = " + why);
  }
}

std::string default_model_id(const std::string& path) {
  std::filesystem::path p(path);
  std::string stem = p.filename().string();
  if (stem.ends_with(".gguf")) stem.resize(stem.size() - 5);
  return stem.empty() ? "model" : stem;
}

int64_t file_time(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<int64_t>(info.st_mtime) : 0;
}

void accept_next(detail::ServerState& s) {
  s.acceptor.async_accept(net::make_strand(s.io),
                          [&s](boost::system::error_code ec, tcp::socket socket) {
                            if (ec == net::error::operation_aborted || !s.acceptor.is_open())
                              return;
                            if (!ec) {
                              if (s.counters.open_connections >= s.options.max_connections) {
                                ++s.counters.connections_refused;
                                boost::system::error_code ignored;
                                socket.close(ignored);
                              } else {
                                ++s.counters.connections_accepted;
                                server::start_session(std::move(socket), s);
                              }
                            }
                            // Errors such as running out of file descriptors are passing: keep
                            // accepting.
                            accept_next(s);
                          });
}

// Waits on the calling thread until `done()` or `limit` passes; true when done.
template <typename Done>
bool wait_until(Done done, std::chrono::steady_clock::duration limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::vector<std::shared_ptr<server::SessionControl>> open_sessions(detail::ServerState& s) {
  std::vector<std::shared_ptr<server::SessionControl>> open;
  std::lock_guard lock(s.sessions_mutex);
  for (auto& [id, weak] : s.sessions) {
    if (auto session = weak.lock()) open.push_back(std::move(session));
  }
  return open;
}

}  // namespace

Server::Server(std::unique_ptr<detail::ServerState> state) : state_(std::move(state)) {}

Server::~Server() { shutdown(std::chrono::milliseconds(0)); }

std::unique_ptr<Server> Server::start(Engine& engine, const ServerOptions& options,
                                      const GenerationOptions& defaults) {
  check(options);
  settings::validate(defaults);
  auto state = std::make_unique<detail::ServerState>(engine, options, defaults);
  if (!options.api_key_file.empty()) state->keys = server::ApiKeys::load(options.api_key_file);
  state->model_id = options.model_alias.empty() ? default_model_id(engine.model_info().path)
                                                : options.model_alias;
  state->model_created = file_time(engine.model_info().path);

  const server::ListenAddress where = server::parse_listen_address(options.listen);
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(where.host, ec);
  if (ec) {
    throw Error("listen address '" + options.listen + "': '" + where.host +
                "' is not an IP address");
  }
  tcp::acceptor& acceptor = state->acceptor;
  const tcp::endpoint endpoint(address, where.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error("cannot listen on " + options.listen + ": " + ec.message());
  state->port = acceptor.local_endpoint().port();

  accept_next(*state);
  state->work.emplace(state->io.get_executor());
  for (int32_t i = 0; i < options.io_threads; ++i) {
    state->threads.emplace_back([s = state.get()] {
      // A handler that throws must not end the process: report it and go on serving.
      while (true) {
        try {
          s->io.run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "hearth serve: error in a connection: %s\n", e.what());
        }
      }
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(state)));
}

uint16_t Server::port() const { return state_->port; }

const std::string& Server::model_id() const { return state_->model_id; }

ServerStats Server::stats() const { return server::server_stats(*state_); }

void Server::shutdown(std::chrono::milliseconds grace) {
  detail::ServerState& s = *state_;
  std::call_once(s.shut_down, [&] {
    s.draining = true;
    net::post(s.io, [&s] {
      boost::system::error_code ignored;
      s.acceptor.close(ignored);
    });
    auto idle = [&s] {
      return s.admission.running() == 0 && s.admission.waiting() == 0 &&
             s.live_engine_requests == 0 && s.responding == 0;
    };
    if (!wait_until(idle, grace)) {
      s.admission.drop_waiting();
      for (auto& session : open_sessions(s)) session->cancel_generation();
      // Cancelling takes effect at the scheduler's next step; what the engine posts to the
      // connections must land before the I/O threads stop. Answers still being written are
      // cut off below.
      wait_until([&s] { return s.live_engine_requests == 0 && s.admission.running() == 0; },
                 std::chrono::seconds(30));
    }
    for (auto& session : open_sessions(s)) session->close();
    s.work.reset();
    // Closing ends every connection's operations, so run() returns once they have unwound;
    // a connection that does not unwind in time is abandoned with the I/O threads.
    if (!wait_until([&s] { return s.counters.open_connections == 0; }, std::chrono::seconds(5))) {
      s.io.stop();
    }
    for (std::thread& t : s.threads) t.join();
    s.threads.clear();
  });
}

}  // namespace hearth
