#include "documents.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "hearth/plugin.hpp"

namespace cag {
namespace {

namespace fs = std::filesystem;
using hearth::sdk::Error;

Error invalid(const std::string& message) { return Error(HEARTH_ERROR_INVALID_ARGUMENT, message); }

bool is_document_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".txt" || ext == ".md" || ext == ".markdown";
}

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

// The files below `folder` that hold documents, sorted.
std::vector<fs::path> folder_documents(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec);
  if (ec) throw invalid("documents: cannot read folder '" + folder.string() + "': " + ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      throw invalid("documents: cannot read folder '" + folder.string() + "': " + ec.message());
    }
    if (is_hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && is_document_name(it->path())) files.push_back(it->path());
  }
  if (ec) throw invalid("documents: cannot read folder '" + folder.string() + "': " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const fs::path& path, const DocumentLimits& limits) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw invalid("documents: cannot read '" + path.string() + "': " + ec.message());
  if (size > limits.max_document_bytes) {
    throw invalid("documents: '" + path.string() + "' is " + std::to_string(size) +
                  " bytes, more than the " + std::to_string(limits.max_document_bytes) +
                  " a document may have");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid("documents: cannot open '" + path.string() + "'");
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    throw invalid("documents: '" + path.string() + "' changed while it was read");
  }
  return text;
}

}  // namespace

uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<Document> read_documents(const std::vector<std::string>& sources,
                                     const DocumentLimits& limits) {
  std::vector<Document> documents;
  uint64_t total = 0;
  auto add = [&](const fs::path& path) {
    if (documents.size() >= limits.max_documents) {
      throw invalid("documents: more than " + std::to_string(limits.max_documents) +
                    " documents (at '" + path.string() + "')");
    }
    Document d;
    d.path = path.string();
    d.text = read_file(path, limits);
    total += d.text.size();
    if (total > limits.max_total_bytes) {
      throw invalid("documents: more than " + std::to_string(limits.max_total_bytes) +
                    " bytes in all (at '" + d.path + "')");
    }
    d.hash = fnv1a(d.text);
    documents.push_back(std::move(d));
  };
  for (const std::string& source : sources) {
    const fs::path path(source);
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      throw invalid("documents: '" + source + "' does not exist" +
                    (ec && ec != std::errc::no_such_file_or_directory ? " (" + ec.message() + ")"
                                                                      : std::string()));
    }
    if (fs::is_directory(status)) {
      const std::vector<fs::path> files = folder_documents(path);
      if (files.empty()) {
        throw invalid("documents: folder '" + source + "' holds no .txt, .md or .markdown file");
      }
      for (const fs::path& file : files) add(file);
    } else if (fs::is_regular_file(status)) {
      add(path);
    } else {
      throw invalid("documents: '" + source + "' is neither a file nor a folder");
    }
  }
  return documents;
}

}  // namespace cag
