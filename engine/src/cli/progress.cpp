#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <memory>

namespace hearth::cli {

std::function<void(float)> terminal_progress(std::string label) {
  if (!::isatty(STDERR_FILENO)) return {};
  auto last = std::make_shared<int>(-1);
  return [label = std::move(label), last](float fraction) {
    int percent = static_cast<int>(fraction * 100.0f);
    if (percent == *last) return;
    *last = percent;
    std::fprintf(stderr, "\r%s %3d%%%s", label.c_str(), percent, percent >= 100 ? "\n" : "");
    std::fflush(stderr);
  };
}

}  // namespace hearth::cli
