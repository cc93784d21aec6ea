#include "cache_file.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "documents.h"
#include "hearth/plugin.hpp"

namespace cag {
namespace {

using hearth::sdk::Error;

constexpr const char* kMagic = "hearth-cag-manifest";
constexpr int kVersion = 2;
constexpr size_t kIdsPerLine = 1024;

std::string hex(uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

bool parse_hex(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

bool parse_u64(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string manifest_text(const Manifest& m) {
  std::ostringstream out;
  out << kMagic << ' ' << kVersion << '\n';
  out << "model " << m.model_identity << '\n';
  out << "kv_element_bytes " << m.kv_element_bytes << '\n';
  out << "template " << hex(m.template_hash) << '\n';
  out << "tokens " << m.tokens << ' ' << hex(m.tokens_hash) << '\n';
  for (size_t i = 0; i < m.token_ids.size(); i += kIdsPerLine) {
    out << "ids";
    for (size_t j = i; j < std::min(m.token_ids.size(), i + kIdsPerLine); ++j) {
      out << ' ' << m.token_ids[j];
    }
    out << '\n';
  }
  for (const DocumentStamp& d : m.documents) {
    out << "document " << hex(d.hash) << ' ' << d.bytes << ' ' << d.path << '\n';
  }
  out << "kv " << m.kv_file << '\n';
  const std::string body = out.str();
  return body + "checksum " + hex(fnv1a(body)) + '\n';
}

std::optional<Manifest> parse_manifest(const std::string& text, std::string& why) {
  const size_t last = text.rfind("checksum ");
  uint64_t checksum = 0;
  if (last == std::string::npos || (last > 0 && text[last - 1] != '\n') || text.back() != '\n' ||
      !parse_hex(text.substr(last + 9, text.size() - last - 10), checksum)) {
    why = "no checksum line at its end (truncated?)";
    return std::nullopt;
  }
  const std::string body = text.substr(0, last);
  if (fnv1a(body) != checksum) {
    why = "its checksum does not match (damaged)";
    return std::nullopt;
  }
  Manifest m;
  std::istringstream in(body);
  std::string line;
  int number = 0;
  bool have_kv = false;
  auto bad = [&](const std::string& what) {
    why = "line " + std::to_string(number) + ": " + what;
    return std::nullopt;
  };
  while (std::getline(in, line)) {
    ++number;
    const size_t space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
    uint64_t a = 0, b = 0;
    if (number == 1) {
      if (key != kMagic) return bad("not a hearth cag manifest");
      if (rest != std::to_string(kVersion))
        return bad("version " + rest + ", this reads " + std::to_string(kVersion));
    } else if (key == "model") {
      m.model_identity = rest;
    } else if (key == "kv_element_bytes") {
      if (!parse_u64(rest, a) || a > 8) return bad("bad KV element size");
      m.kv_element_bytes = static_cast<uint32_t>(a);
    } else if (key == "template") {
      if (!parse_hex(rest, m.template_hash)) return bad("bad template hash");
    } else if (key == "tokens") {
      const size_t s = rest.find(' ');
      if (s == std::string::npos || !parse_u64(rest.substr(0, s), a) || a > UINT32_MAX ||
          !parse_hex(rest.substr(s + 1), m.tokens_hash)) {
        return bad("bad token count or hash");
      }
      m.tokens = static_cast<uint32_t>(a);
    } else if (key == "ids") {
      std::istringstream ids(rest);
      std::string id;
      while (ids >> id) {
        if (!parse_u64(id, a) || a > INT32_MAX || m.token_ids.size() >= m.tokens) {
          return bad("bad token id, or more ids than tokens");
        }
        m.token_ids.push_back(static_cast<int32_t>(a));
      }
    } else if (key == "document") {
      const size_t s1 = rest.find(' ');
      const size_t s2 = s1 == std::string::npos ? s1 : rest.find(' ', s1 + 1);
      DocumentStamp d;
      if (s2 == std::string::npos || !parse_hex(rest.substr(0, s1), d.hash) ||
          !parse_u64(rest.substr(s1 + 1, s2 - s1 - 1), b)) {
        return bad("bad document line");
      }
      d.bytes = b;
      d.path = rest.substr(s2 + 1);
      m.documents.push_back(std::move(d));
    } else if (key == "kv") {
      if (rest.empty() || rest.find('/') != std::string::npos) return bad("bad KV file name");
      m.kv_file = rest;
      have_kv = true;
    } else {
      return bad("unknown entry '" + key + "'");
    }
  }
  if (number == 0 || !have_kv) {
    why = "incomplete (no KV file named)";
    return std::nullopt;
  }
  const std::string ids(reinterpret_cast<const char*>(m.token_ids.data()),
                        m.token_ids.size() * sizeof(int32_t));
  if (m.token_ids.size() != m.tokens || fnv1a(ids) != m.tokens_hash) {
    why = "its token ids do not match its token count and hash";
    return std::nullopt;
  }
  return m;
}

std::string stale_reason(const Manifest& stored, const Manifest& wanted) {
  if (stored.model_identity != wanted.model_identity) {
    return "it was built for another model (" + stored.model_identity + ", this one is " +
           wanted.model_identity + ")";
  }
  if (stored.kv_element_bytes != wanted.kv_element_bytes) {
    return "it was built with " + std::to_string(stored.kv_element_bytes) +
           "-byte KV elements, this cache has " + std::to_string(wanted.kv_element_bytes);
  }
  if (stored.template_hash != wanted.template_hash) return "the template changed";
  const size_t n = std::min(stored.documents.size(), wanted.documents.size());
  for (size_t i = 0; i < n; ++i) {
    if (stored.documents[i].path != wanted.documents[i].path) {
      return "document " + std::to_string(i + 1) + " is now '" + wanted.documents[i].path +
             "', it was '" + stored.documents[i].path + "'";
    }
    if (!(stored.documents[i] == wanted.documents[i])) {
      return "document '" + wanted.documents[i].path + "' changed";
    }
  }
  if (stored.documents.size() != wanted.documents.size()) {
    return "the set has " + std::to_string(wanted.documents.size()) + " documents, the cache " +
           std::to_string(stored.documents.size());
  }
  if (stored.tokens != wanted.tokens || stored.tokens_hash != wanted.tokens_hash) {
    return "the documents tokenize differently now (another tokenizer?)";
  }
  return "";
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

size_t reusable_positions(const Manifest& stored, const Manifest& wanted) {
  if (stored.model_identity != wanted.model_identity ||
      stored.kv_element_bytes != wanted.kv_element_bytes) {
    return 0;
  }
  return common_prefix(stored.token_ids, wanted.token_ids);
}

std::string temporary_path(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(random());
}

void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = temporary_path(path);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      throw Error(HEARTH_ERROR_FAILED, "cag: cannot write '" + temporary + "'");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    throw Error(HEARTH_ERROR_FAILED,
                "cag: cannot rename '" + temporary + "' to '" + path + "': " + reason);
  }
}

}  // namespace cag
