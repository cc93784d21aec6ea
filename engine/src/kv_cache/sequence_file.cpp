// Saving a sequence's KV cache to a file and reading it back into a new sequence.
//
// File layout (little-endian): a fixed header, the per-layer KV head counts, then the payload:
// for each layer, for each position, the K row and then the V row (kv_heads * head_dim f32
// each). The payload depends neither on the block size nor on the cache's element type, so
// any cache configuration can read it. Both the header and the payload carry an FNV-1a
// checksum. The backend hands the sequence over in its canonical form (KvStorage::read_rows),
// which is reordered and widened here.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "gguf/fp16.h"
#include "hearth/error.h"
#include "kv_cache/kv_cache.h"
#include "util/checksum.h"

namespace hearth {
namespace {

constexpr char kMagic[8] = {'H', 'E', 'A', 'R', 'T', 'H', 'K', 'V'};
constexpr uint32_t kVersion = 1;

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t layers;
  uint32_t head_dim;
  uint32_t tokens;
  char model_identity[16];
  uint64_t payload_bytes;
  uint64_t payload_checksum;
};
static_assert(sizeof(FileHeader) == 56);

uint64_t header_checksum(const FileHeader& header, const std::vector<int32_t>& kv_heads) {
  util::Fnv1a h;
  h.update(&header, sizeof header);
  h.update(kv_heads.data(), kv_heads.size() * sizeof(int32_t));
  return h.digest();
}

// Converts between the backend's canonical form (per layer: the K rows of every position,
// then the V rows, in the cache's element type) and the file's payload (per layer and
// position: the K row, then the V row, f32).
float widen(float x) { return x; }
float widen(uint16_t x) { return f16_to_f32(x); }
void narrow(float x, float& out) { out = x; }
void narrow(float x, uint16_t& out) { out = f32_to_f16(x); }

template <typename Element>
void reorder(const std::vector<int32_t>& kv_heads, int32_t head_dim, int32_t tokens,
             Element* canonical, float* payload, bool to_file) {
  for (int32_t heads : kv_heads) {
    const size_t row = size_t(heads) * head_dim, layer = 2 * size_t(tokens) * row;
    for (int32_t p = 0; p < tokens; ++p) {
      for (int kv = 0; kv < 2; ++kv) {
        Element* c = canonical + (kv * size_t(tokens) + p) * row;
        float* f = payload + (2 * size_t(p) + kv) * row;
        for (size_t i = 0; i < row; ++i) {
          if (to_file) {
            f[i] = widen(c[i]);
          } else {
            narrow(f[i], c[i]);
          }
        }
      }
    }
    canonical += layer;
    payload += layer;
  }
}

void reorder(const backend::KvStorageDesc& desc, int32_t tokens, std::byte* canonical,
             float* payload, bool to_file) {
  if (desc.element == TensorType::f16) {
    reorder(desc.layer_kv_heads, desc.head_dim, tokens, reinterpret_cast<uint16_t*>(canonical),
            payload, to_file);
  } else {
    reorder(desc.layer_kv_heads, desc.head_dim, tokens, reinterpret_cast<float*>(canonical),
            payload, to_file);
  }
}

}  // namespace

void KvCache::save(int32_t sequence, const std::string& path,
                   const std::string& model_identity) const {
  const Sequence& s = get(sequence);
  const auto& desc = storage_->desc();
  std::vector<std::byte> canonical(desc.canonical_bytes(s.length));
  storage_->read_rows(s.blocks, s.length, canonical.data());
  std::vector<float> payload(canonical.size() / desc.element_bytes());
  reorder(desc, s.length, canonical.data(), payload.data(), true);
  FileHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kVersion;
  header.layers = static_cast<uint32_t>(layout_.layer_kv_heads.size());
  header.head_dim = static_cast<uint32_t>(layout_.head_dim);
  header.tokens = static_cast<uint32_t>(s.length);
  std::memcpy(header.model_identity, model_identity.data(),
              std::min(model_identity.size(), sizeof header.model_identity));
  header.payload_bytes = payload.size() * sizeof(float);
  util::Fnv1a sum;
  sum.update(payload.data(), header.payload_bytes);
  header.payload_checksum = sum.digest();
  uint64_t check = header_checksum(header, layout_.layer_kv_heads);

  // Write beside the target and rename, so a crash never leaves a half-written cache file.
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write KV cache file");
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    out.write(reinterpret_cast<const char*>(layout_.layer_kv_heads.data()),
              layout_.layer_kv_heads.size() * sizeof(int32_t));
    out.write(reinterpret_cast<const char*>(&check), sizeof check);
    out.write(reinterpret_cast<const char*>(payload.data()), header.payload_bytes);
    if (!out.flush()) throw Error(path + ": writing the KV cache file failed");
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) throw Error(path + ": cannot move the KV cache file into place: " + ec.message());
}

int32_t KvCache::load(const std::string& path, const std::string& model_identity) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read KV cache file");
  FileHeader header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header) ||
      std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) {
    throw Error(path + ": not a hearth KV cache file");
  }
  if (header.version != kVersion) {
    throw Error(path + ": KV cache file version " + std::to_string(header.version) +
                " is not supported (expected " + std::to_string(kVersion) + ")");
  }
  const std::string identity(header.model_identity,
                             strnlen(header.model_identity, sizeof header.model_identity));
  if (identity != model_identity.substr(0, sizeof header.model_identity)) {
    throw Error(path + ": KV cache was saved from another model (identity " + identity +
                ", this model is " + model_identity + ")");
  }
  if (header.layers != layout_.layer_kv_heads.size() ||
      header.head_dim != static_cast<uint32_t>(layout_.head_dim)) {
    throw Error(path + ": KV cache geometry does not match this model");
  }
  if (header.layers == 0 || header.layers > 4096) {
    throw Error(path + ": KV cache header is damaged (layer count)");
  }
  std::vector<int32_t> kv_heads(header.layers);
  uint64_t check = 0;
  in.read(reinterpret_cast<char*>(kv_heads.data()), kv_heads.size() * sizeof(int32_t));
  in.read(reinterpret_cast<char*>(&check), sizeof check);
  if (!in || check != header_checksum(header, kv_heads)) {
    throw Error(path + ": KV cache header is damaged (checksum mismatch)");
  }
  if (kv_heads != layout_.layer_kv_heads) {
    throw Error(path + ": KV cache has other KV head counts than this model");
  }
  // Everything the header claims is checked against the file and the free cache before any
  // memory is reserved for it.
  const int64_t capacity = int64_t{free_blocks()} * layout_.block_tokens;
  if (header.tokens == 0 || int64_t{header.tokens} > capacity) {
    throw Error(path + ": KV cache holds " + std::to_string(header.tokens) +
                " positions; the cache has room for " + std::to_string(capacity));
  }
  size_t expected = 0;
  for (int32_t h : kv_heads) expected += 2 * size_t(header.tokens) * h * layout_.head_dim;
  std::error_code size_error;
  const uint64_t file_size = std::filesystem::file_size(path, size_error);
  const uint64_t header_size = sizeof header + kv_heads.size() * sizeof(int32_t) + sizeof check;
  if (header.payload_bytes != expected * sizeof(float) || size_error ||
      file_size != header_size + header.payload_bytes) {
    throw Error(path + ": KV cache payload size does not match its header (file truncated?)");
  }
  std::vector<float> payload(expected);
  in.read(reinterpret_cast<char*>(payload.data()), header.payload_bytes);
  if (!in) throw Error(path + ": KV cache file is truncated");
  util::Fnv1a sum;
  sum.update(payload.data(), header.payload_bytes);
  if (sum.digest() != header.payload_checksum) {
    throw Error(path + ": KV cache payload is damaged (checksum mismatch)");
  }

  const int32_t tokens = static_cast<int32_t>(header.tokens);
  int32_t sequence = create();
  std::vector<int32_t> slots;
  try {
    append(sequence, tokens, slots);
  } catch (...) {
    drop(sequence);
    throw;
  }
  const auto& desc = storage_->desc();
  std::vector<std::byte> canonical(desc.canonical_bytes(tokens));
  reorder(desc, tokens, canonical.data(), payload.data(), false);
  storage_->write_rows(block_table(sequence), tokens, canonical.data());
  return sequence;
}

}  // namespace hearth
