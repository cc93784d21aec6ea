// One client connection: reads HTTP/1.1 requests under the server's limits and timeouts,
// answers the simple endpoints, and runs completions through the engine's scheduler,
// streaming them as server-sent events when asked. All its work runs on its own strand;
// the engine's callbacks post to it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

#include "server/server_state.h"

namespace hearth::server {

// Starts serving an accepted socket (whose executor is a strand) and registers the
// connection in `server.sessions`.
void start_session(boost::asio::ip::tcp::socket socket, detail::ServerState& server);

}  // namespace hearth::server
