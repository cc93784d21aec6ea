#include "server/listen_address.h"

#include <charconv>

#include "hearth/error.h"
#include "hearth/text.h"

namespace hearth::server {

ListenAddress parse_listen_address(const std::string& text) {
  auto fail = [&](const std::string& why) -> ListenAddress {
    throw Error("listen address '" + printable(text) + "': " + why +
                " (give host:port, [v6-address]:port or :port)");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return fail("no port");
  ListenAddress address;
  address.host = text.substr(0, colon);
  if (address.host.starts_with('[')) {
    if (!address.host.ends_with(']') || address.host.size() < 3) return fail("unclosed '['");
    address.host = address.host.substr(1, address.host.size() - 2);
  } else if (address.host.find(':') != std::string::npos) {
    return fail("an IPv6 address needs brackets");
  }
  if (address.host.empty()) address.host = "0.0.0.0";
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return fail("the port must be a number from 0 to 65535");
  }
  address.port = static_cast<uint16_t>(value);
  return address;
}

}  // namespace hearth::server
