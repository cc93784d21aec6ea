// hearth: the one exception type the engine throws across its C++ API.
#pragma once

#include <stdexcept>
#include <string>

namespace hearth {

// Every failure the engine reports carries a message that names what went wrong and where
// (file, field, line), so callers can show it to an operator as it is.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace hearth
