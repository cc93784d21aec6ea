// Read-only memory mapping of a whole file (RAII).
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace hearth::util {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws hearth::Error naming the path and `what` the file should be. With `populate` the
  // pages are read in at once (for a file about to be read whole).
  explicit MappedFile(const std::string& path, const char* what = "GGUF file",
                      bool populate = false);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }

  // Drops this process's copy of the pages in [offset, offset + size) (rounded inwards to
  // whole pages). They stay in the page cache; a later read faults them back in. Used once
  // the weights have been repacked, so the file is not held in memory twice.
  void release_pages(size_t offset, size_t size) const;

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace hearth::util
