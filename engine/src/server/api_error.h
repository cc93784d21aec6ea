// An error answered to an API client: the HTTP status and the OpenAI-shaped body's fields
// ({"error": {"message", "type", "param", "code"}}), so clients written for OpenAI show the
// message and can act on the code.
#pragma once

#include <stdexcept>
#include <string>

namespace hearth::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string param = "", std::string code = "")
      : std::runtime_error(message),
        status_(status),
        param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& param() const { return param_; }  // the request field at fault, or ""
  const std::string& code() const { return code_; }    // a machine-readable code, or ""
  // OpenAI's error type for the status: invalid_request_error, authentication_error, ...
  const char* type() const;

 private:
  int status_;
  std::string param_, code_;
};

// The error's JSON body.
std::string error_body(const ApiError& error);

}  // namespace hearth::server
