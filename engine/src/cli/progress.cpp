#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <utility>

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

std::function<void(const std::string&, int64_t, int64_t)> terminal_task_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  auto last = std::make_shared<std::pair<std::string, int>>("", -1);
  return [last](const std::string& task, int64_t done, int64_t total) {
    const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
    if (task == last->first && percent == last->second) return;
    *last = {task, percent};
    std::fprintf(stderr, "\r%s %3d%% (%lld/%lld)%s", task.c_str(), percent,
                 static_cast<long long>(done), static_cast<long long>(total),
                 done >= total ? "\n" : "");
    std::fflush(stderr);
  };
}

}  // namespace hearth::cli
