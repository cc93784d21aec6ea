// A knowledge set's cache on disk: a small manifest, NAME.cag, that says what the cache was
// built from (model, KV element size, template, the prefix's token ids and their hash, each
// document's hash), and
// the KV itself in the host's sequence file, which carries its own checksums and the model's
// identity. The manifest ends with a checksum of everything before it.
//
// Both are written to temporary files and renamed into place, the KV file first, so a reader
// sees either the old pair or the new one, and builders running at once each leave a whole,
// valid pair (the last rename wins).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cag {

struct DocumentStamp {
  uint64_t hash = 0;
  uint64_t bytes = 0;
  std::string path;
  bool operator==(const DocumentStamp&) const = default;
};

struct Manifest {
  std::string model_identity;
  uint32_t kv_element_bytes = 0;
  uint64_t template_hash = 0;
  uint64_t tokens_hash = 0;  // over the prefix's token ids: a tokenizer change shows here
  uint32_t tokens = 0;
  std::vector<int32_t> token_ids;  // the prefix, so an update can keep what did not change
  std::vector<DocumentStamp> documents;
  std::string kv_file;  // beside the manifest
};

// The manifest's text, checksum line included.
std::string manifest_text(const Manifest& m);

// Parses a manifest; nullopt with `why` set when it is not one this version wrote whole
// (wrong magic or version, a bad line, a checksum that does not match: truncated or damaged).
std::optional<Manifest> parse_manifest(const std::string& text, std::string& why);

// Why a cache built as `stored` cannot serve what `wanted` describes ("" when it can).
std::string stale_reason(const Manifest& stored, const Manifest& wanted);

// How many leading positions of a cache built as `stored` hold exactly the KV that `wanted`
// needs: the tokens both prefixes start with, when model and KV element size are the same
// (attention is causal, so a position's KV depends only on the tokens up to it); else 0.
size_t reusable_positions(const Manifest& stored, const Manifest& wanted);

// The length of the run of tokens `a` and `b` start with.
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
void write_atomically(const std::string& path, const std::string& bytes);

// A temporary name beside `path`, unique to this process and call.
std::string temporary_path(const std::string& path);

}  // namespace cag
