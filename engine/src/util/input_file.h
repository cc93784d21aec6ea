// Files named by a user (prompt files, deployment files, model files, plugin libraries) are
// checked with stat() before they are opened: open() on a FIFO blocks until a writer appears,
// opening some devices has side effects, and reading a device such as /dev/zero never ends.
// The descriptor is checked again after opening, so a file swapped in between is caught too.
// Text read into memory (hearth/text.h) has a size limit.
#pragma once

#include <cstddef>
#include <string>

namespace hearth::util {

// A read-only descriptor (close-on-exec) for `path`, which must name a regular file (symbolic
// links followed); `size` receives its size. Otherwise throws hearth::Error
// "<what> '<path>': <reason>": missing, dangling link, directory, FIFO, device, socket.
int open_regular_file(const std::string& path, const char* what, size_t& size);

}  // namespace hearth::util
