// The --listen / [server] listen value: host:port, [v6-address]:port, or :port for every
// interface. Names are not resolved: an address is what a deployer means to expose.
#pragma once

#include <cstdint>
#include <string>

namespace hearth::server {

struct ListenAddress {
  std::string host;  // an IPv4 or IPv6 address, "0.0.0.0" for ":port"
  uint16_t port = 0;
};

// Throws hearth::Error naming the value and what is wrong.
ListenAddress parse_listen_address(const std::string& text);

}  // namespace hearth::server
