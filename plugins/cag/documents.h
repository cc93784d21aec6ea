// The documents of a knowledge set, read from the configured files and folders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cag {

struct Document {
  std::string path;  // as read (a folder's files: the folder path joined with the file's)
  std::string text;
  uint64_t hash = 0;  // FNV-1a of the bytes, to tell a changed document from an unchanged one
};

struct DocumentLimits {
  uint64_t max_document_bytes = uint64_t{64} << 20;
  uint64_t max_total_bytes = uint64_t{1} << 30;
  size_t max_documents = 100000;
};

// Each source is a file (one document) or a folder: every regular file below it whose name
// ends in .txt, .md or .markdown, in path order, hidden files and folders left out. Sources
// keep their configured order. A missing source, an unreadable or oversized file, a folder
// without documents, or more than the limits allow is an error naming the path.
std::vector<Document> read_documents(const std::vector<std::string>& sources,
                                     const DocumentLimits& limits = {});

uint64_t fnv1a(const std::string& bytes);

}  // namespace cag
