#include "plugins/elf_check.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "plugins/plugin_library.h"
#include "util/input_file.h"

namespace hearth::plugins {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#elif defined(__powerpc64__)
constexpr uint16_t kHostMachine = EM_PPC64;
#elif defined(__riscv)
constexpr uint16_t kHostMachine = EM_RISCV;
#else
#error "unknown host machine for the ELF check"
#endif
static_assert(sizeof(void*) == 8, "plugins are 64-bit ELF");
constexpr unsigned char kHostByteOrder =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;

[[noreturn]] void refuse(const std::string& path, const std::string& reason) {
  throw PluginRefused(path + ": " + reason);
}

// The checked file, read with plain reads (no mapping, so a short file is a short read).
class File {
 public:
  File(const std::string& path, size_t& size) {
    try {
      fd_ = util::open_regular_file(path, "plugin library", size);
    } catch (const Error& e) {
      throw PluginRefused(e.what());
    }
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads exactly `size` bytes at `offset`, or returns false (short file).
  bool read(uint64_t offset, void* out, size_t size) const {
    auto* p = static_cast<char*>(out);
    while (size > 0) {
      ssize_t n = ::pread(fd_, p, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      offset += static_cast<uint64_t>(n);
      size -= static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_ = -1;
};

}  // namespace

void check_elf_library(const std::string& path) {
  size_t file_size = 0;
  File file(path, file_size);
  unsigned char ident[EI_NIDENT] = {};
  if (!file.read(0, ident, sizeof ident) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    if (file_size >= SELFMAG && file.read(0, ident, SELFMAG) &&
        std::memcmp(ident, ELFMAG, SELFMAG) == 0) {
      refuse(path, "truncated ELF: " + std::to_string(file_size) + " bytes, no complete header");
    }
    refuse(path, "not a loadable library (no ELF header: not a plugin)");
  }
  if (ident[EI_CLASS] != ELFCLASS64) refuse(path, "not a 64-bit ELF library (wrong class)");
  if (ident[EI_DATA] != kHostByteOrder) refuse(path, "ELF library of the wrong byte order");
  Elf64_Ehdr header{};
  if (!file.read(0, &header, sizeof header)) {
    refuse(path, "truncated ELF: " + std::to_string(file_size) + " bytes, the header needs " +
                     std::to_string(sizeof header));
  }
  if (header.e_machine != kHostMachine) {
    refuse(path,
           "ELF library for another machine (e_machine " + std::to_string(header.e_machine) + ")");
  }
  if (header.e_type != ET_DYN) {
    refuse(path, header.e_type == ET_EXEC
                     ? "an executable program, not a shared library"
                     : "not a shared library (ELF type " + std::to_string(header.e_type) + ")");
  }
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
      header.e_phnum == PN_XNUM) {
    refuse(path, "malformed ELF: unexpected program header table (" +
                     std::to_string(header.e_phnum) + " entries of " +
                     std::to_string(header.e_phentsize) + " bytes)");
  }
  const uint64_t table_bytes = uint64_t{header.e_phnum} * sizeof(Elf64_Phdr);
  if (header.e_phoff > file_size || table_bytes > file_size - header.e_phoff) {
    refuse(path, "truncated ELF: the program headers end past the file's " +
                     std::to_string(file_size) + " bytes");
  }
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  if (!file.read(header.e_phoff, segments.data(), table_bytes)) {
    refuse(path, "truncated ELF: cannot read the program headers");
  }
  bool loadable = false;
  for (const auto& s : segments) {
    if (s.p_type == PT_INTERP) {
      refuse(path, "an executable program (it names a program interpreter), not a shared library");
    }
    if (s.p_type != PT_LOAD) continue;
    loadable = true;
    if (s.p_offset > file_size || s.p_filesz > file_size - s.p_offset) {
      refuse(path, "truncated ELF: a loadable segment ends at byte " +
                       std::to_string(s.p_offset + s.p_filesz) + " but the file has " +
                       std::to_string(file_size) + " (a partial copy?)");
    }
  }
  if (!loadable) refuse(path, "malformed ELF: no loadable segment");
}

}  // namespace hearth::plugins
