#include "util/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hearth/error.h"
#include "hearth/text.h"

namespace hearth {
namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory, not a file";
  if (S_ISFIFO(mode)) return "is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(mode)) return "is a character device, not a regular file";
  if (S_ISBLK(mode)) return "is a block device, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  return "is not a regular file";
}

std::string size_text(size_t bytes) {
  const size_t mib = size_t{1} << 20;
  if (bytes >= mib && bytes % mib == 0) return std::to_string(bytes / mib) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

int util::open_regular_file(const std::string& path, const char* what, size_t& size) {
  const std::string name = std::string(what) + " '" + path + "'";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    struct stat link {};
    if (err == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      throw Error(name + ": is a dangling symbolic link (its target does not exist)");
    }
    throw Error(name + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) throw Error(name + ": " + file_kind(st.st_mode));
  // O_NONBLOCK: should the path have become a FIFO since the check, open must not wait.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(name + ": cannot open: " + std::strerror(errno));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(name + ": changed while being opened; not a regular file");
  }
  size = static_cast<size_t>(st.st_size);
  return fd;
}

std::string read_text_file(const std::string& path, const char* what, size_t max_bytes) {
  const std::string name = std::string(what) + " '" + path + "'";
  size_t size = 0;
  int fd = util::open_regular_file(path, what, size);
  if (size > max_bytes) {
    ::close(fd);
    throw Error(name + ": " + size_text(size) + " is above the limit of " + size_text(max_bytes));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(name + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > max_bytes) {  // grew while being read
      ::close(fd);
      throw Error(name + ": grew above the limit of " + size_text(max_bytes) + " while read");
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace hearth
