#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <stdexcept>

namespace hearth::test {

HttpConnection::HttpConnection(uint16_t port, std::chrono::milliseconds timeout,
                               int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  if (receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  }
}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpConnection::try_send_raw(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

void HttpConnection::send_raw(const std::string& bytes) {
  if (!try_send_raw(bytes)) throw std::runtime_error("send failed: the server closed");
}

bool HttpConnection::fill() {
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::string HttpConnection::read_line() {
  size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos) {
    if (!fill()) throw std::runtime_error("connection closed inside a line");
  }
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 2);
  return line;
}

std::string HttpConnection::take(size_t n) {
  while (buffer_.size() < n) {
    if (!fill()) throw std::runtime_error("connection closed inside a body");
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

HttpResponse HttpConnection::read_response() {
  HttpResponse r;
  if (buffer_.empty() && !fill()) return r;
  const std::string status_line = read_line();
  if (status_line.size() < 12) throw std::runtime_error("bad status line: " + status_line);
  r.status = std::stoi(status_line.substr(9, 3));
  for (std::string line = read_line(); !line.empty(); line = read_line()) {
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    size_t start = colon + 1;
    while (start < line.size() && line[start] == ' ') ++start;
    r.headers[name] = line.substr(start);
  }
  if (r.headers["transfer-encoding"] == "chunked") {
    while (true) {
      const size_t size = std::stoul(read_line(), nullptr, 16);
      if (size == 0) {
        read_line();
        break;
      }
      r.body += take(size);
      read_line();
    }
  } else if (r.headers.count("content-length")) {
    r.body = take(std::stoul(r.headers["content-length"]));
  }
  return r;
}

bool HttpConnection::wait_closed() {
  char chunk[4096];
  while (true) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

std::string HttpConnection::read_some(size_t bytes) {
  while (buffer_.size() < bytes && fill()) {
  }
  std::string out = buffer_.substr(0, std::min(bytes, buffer_.size()));
  buffer_.erase(0, out.size());
  return out;
}

HttpResponse HttpConnection::request(const std::string& method, const std::string& target,
                                     const std::string& body, const std::string& extra_headers) {
  send_raw(http_request(method, target, body, extra_headers));
  return read_response();
}

std::string http_request(const std::string& method, const std::string& target,
                         const std::string& body, const std::string& extra_headers) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!body.empty() || method == "POST") {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + extra_headers + "\r\n" + body;
}

}  // namespace hearth::test
