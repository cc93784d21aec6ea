// A small blocking HTTP/1.1 client over a real loopback socket, for the server's tests: it
// sends bytes exactly as given (so tests can send malformed requests, slowly or in part) and
// reads responses with Content-Length or chunked bodies.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace hearth::test {

struct HttpResponse {
  int status = 0;                              // 0 when the connection closed before a status line
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // chunked bodies joined
};

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port; every read gives up after `timeout`. A `receive_buffer`
  // (bytes) makes a client whose slowness the server feels at once.
  explicit HttpConnection(uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          int receive_buffer = 0);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void send_raw(const std::string& bytes);      // false-free: throws when the peer is gone
  bool try_send_raw(const std::string& bytes);  // false when the peer is gone
  HttpResponse read_response();
  // Reads until the peer closes (true) or the timeout passes (false).
  bool wait_closed();
  // Reads what arrives within the timeout, up to `bytes`.
  std::string read_some(size_t bytes);
  void close();

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "", const std::string& extra_headers = "");

 private:
  bool fill();  // reads more into buffer_; false at EOF or timeout
  std::string read_line();
  std::string take(size_t n);

  int fd_ = -1;
  std::string buffer_;
};

// A request's bytes: method, target, Host, Content-Length for a body, extra headers
// ("Name: value\r\n" each).
std::string http_request(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& extra_headers = "");

}  // namespace hearth::test
