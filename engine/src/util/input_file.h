// Files named by a user (prompt files, deployment files, model files, plugin libraries) are
// checked with stat() before they are opened: open() on a FIFO blocks until a writer appears,
// and reading a device such as /dev/zero never ends. Text read into memory has a size limit.
#pragma once

#include <cstddef>
#include <string>

namespace hearth::util {

// Throws hearth::Error "<what> '<path>': <reason>" unless `path` names a regular file
// (symbolic links followed): missing, dangling link, directory, FIFO, device, socket.
// Returns the file's size.
size_t require_regular_file(const std::string& path, const char* what);

// The whole contents of a regular file of at most `max_bytes` bytes.
std::string read_text_file(const std::string& path, const char* what, size_t max_bytes);

}  // namespace hearth::util
