// hearth: the one exception type the engine throws across its C++ API.
#pragma once

#include <stdexcept>
#include <string>

namespace hearth {

// What kind of failure an Error is, for callers that act on it (the plugin host turns it into
// the ABI's status; a server would turn it into an HTTP status) without reading the text.
enum class ErrorCode {
  invalid_argument,  // bad input: a file, a setting, an option, a request (the default)
  out_of_memory,     // a memory budget (the KV cache) or the system's memory is exhausted
  failed,            // anything else: the system refused (threads, I/O), or an internal failure
};

// Every failure the engine reports carries a message that names what went wrong and where
// (file, field, line), so callers can show it to an operator as it is.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorCode code = ErrorCode::invalid_argument)
      : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace hearth
