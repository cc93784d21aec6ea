#include "scheduler/stop_string_filter.h"

#include <algorithm>
#include <utility>

namespace hearth {

std::string StopStringFilter::push(std::string_view text, bool& stopped) {
  pending_ += text;
  size_t cut = std::string::npos;
  for (const auto& s : stops_) {
    if (!s.empty()) cut = std::min(cut, pending_.find(s));
  }
  if (cut != std::string::npos) {
    stopped = true;
    std::string out = pending_.substr(0, cut);
    pending_.clear();
    return out;
  }
  // The longest tail of the pending text that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); n > hold; --n) {
      if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopStringFilter::flush() { return std::exchange(pending_, {}); }

}  // namespace hearth
