#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace hearth::server {

const char* ApiError::type() const {
  switch (status_) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable";
    default:
      return status_ >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string error_body(const ApiError& error) {
  nlohmann::ordered_json j;
  j["error"] = {{"message", error.what()},
                {"type", error.type()},
                {"param", error.param().empty() ? nlohmann::ordered_json(nullptr)
                                                : nlohmann::ordered_json(error.param())},
                {"code", error.code().empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(error.code())}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace hearth::server
