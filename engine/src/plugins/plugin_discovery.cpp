#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "hearth/plugin_probe.h"

namespace hearth {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPrefix = "hearth-";
constexpr const char* kSuffix = ".so";

std::string executable_directory() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::vector<std::string> plugin_search_directories(const std::vector<std::string>& configured) {
  std::vector<std::string> dirs(configured.begin(), configured.end());
  if (const char* env = std::getenv("HEARTH_PLUGIN_PATH")) {
    std::stringstream list(env);
    std::string dir;
    while (std::getline(list, dir, ':')) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  if (std::string exe = executable_directory(); !exe.empty()) {
    dirs.push_back(exe);
    dirs.push_back((fs::path(exe) / ".." / "lib" / "hearth" / "plugins").lexically_normal());
  }
  std::vector<std::string> unique;
  for (auto& d : dirs) {
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  }
  return unique;
}

std::string find_plugin_library(const std::string& name,
                                const std::vector<std::string>& directories) {
  for (const auto& dir : directories) {
    fs::path candidate = fs::path(dir) / (kPrefix + name + kSuffix);
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return {};
}

std::vector<std::string> list_plugin_libraries(const std::vector<std::string>& directories) {
  std::vector<std::string> found;
  std::set<std::string> names;
  for (const auto& dir : directories) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string file = entry.path().filename().string();
      if (file.rfind(kPrefix, 0) == 0 && file.size() > 3 &&
          file.compare(file.size() - 3, 3, kSuffix) == 0 && entry.is_regular_file(ec)) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (names.insert(f.filename().string()).second) found.push_back(f.string());
    }
  }
  return found;
}

}  // namespace hearth
