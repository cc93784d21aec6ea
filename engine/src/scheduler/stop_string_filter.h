// Holds back generated text that might be the start of a stop string, so a stop string is
// never shown, even when it arrives split across tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Adds text; returns what is safe to emit. Sets `stopped` when a stop string appeared (the
  // text before it is returned, the rest dropped).
  std::string push(std::string_view text, bool& stopped);
  // Whatever is held back.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
};

}  // namespace hearth
