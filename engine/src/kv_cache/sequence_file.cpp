// Saving a sequence's KV cache to a file and reading it back into a new sequence.
//
// File layout (little-endian), version 2: a fixed header, the per-layer KV head counts and
// their checksum, then the payload in the backend's canonical form (per layer: the K rows of
// every position, then the V rows), in the cache's element type (f16 or f32, named in the
// header). The payload does not depend on the block size, and a cache of the other element
// type reads it converted. Its checksum is a StripeHash, so saving and loading run at memory
// speed. Version 1 files (payload per layer and position, K row then V row, always f32, FNV-1a
// checksum) are still read.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <vector>

#include "gguf/fp16.h"
#include "hearth/error.h"
#include "kv_cache/kv_cache.h"
#include "util/checksum.h"
#include "util/mapped_file.h"

namespace hearth {
namespace {

constexpr char kMagic[8] = {'H', 'E', 'A', 'R', 'T', 'H', 'K', 'V'};
constexpr uint32_t kVersion = 2;
constexpr uint32_t kElementF32 = 1, kElementF16 = 2;

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t layers;
  uint32_t head_dim;
  uint32_t tokens;
  char model_identity[16];
  uint64_t payload_bytes;
  uint64_t payload_checksum;
  // Since version 2.
  uint32_t element;  // kElementF32 or kElementF16
  uint32_t reserved;
};
constexpr size_t kHeaderBytesV1 = 56;
static_assert(sizeof(FileHeader) == 64);

uint64_t header_checksum(const FileHeader& header, size_t header_bytes,
                         const std::vector<int32_t>& kv_heads) {
  util::Fnv1a h;
  h.update(&header, header_bytes);
  h.update(kv_heads.data(), kv_heads.size() * sizeof(int32_t));
  return h.digest();
}

// Version 1's payload (per layer and position: the K row, then the V row, f32) into the
// canonical form in the cache's element type.
float narrow_to(float x, float) { return x; }
uint16_t narrow_to(float x, uint16_t) { return f32_to_f16(x); }

template <typename Element>
void from_v1(const std::vector<int32_t>& kv_heads, int32_t head_dim, int32_t tokens,
             const float* payload, Element* canonical) {
  for (int32_t heads : kv_heads) {
    const size_t row = size_t(heads) * head_dim, layer = 2 * size_t(tokens) * row;
    for (int32_t p = 0; p < tokens; ++p) {
      for (int kv = 0; kv < 2; ++kv) {
        Element* c = canonical + (kv * size_t(tokens) + p) * row;
        const float* f = payload + (2 * size_t(p) + kv) * row;
        for (size_t i = 0; i < row; ++i) c[i] = narrow_to(f[i], Element{});
      }
    }
    canonical += layer;
    payload += layer;
  }
}

// A version 2 payload of the other element type, converted in place into `canonical`.
void convert(std::span<const std::byte> payload, bool payload_f16, std::byte* canonical) {
  if (payload_f16) {
    const auto* in = reinterpret_cast<const uint16_t*>(payload.data());
    auto* out = reinterpret_cast<float*>(canonical);
    for (size_t i = 0; i < payload.size() / 2; ++i) out[i] = f16_to_f32(in[i]);
  } else {
    const auto* in = reinterpret_cast<const float*>(payload.data());
    auto* out = reinterpret_cast<uint16_t*>(canonical);
    for (size_t i = 0; i < payload.size() / 4; ++i) out[i] = f32_to_f16(in[i]);
  }
}

}  // namespace

void KvCache::save(int32_t sequence, const std::string& path,
                   const std::string& model_identity) const {
  const Sequence& s = get(sequence);
  const auto& desc = storage_->desc();
  // Not zeroed first: read_rows fills every byte.
  const size_t payload_bytes = desc.canonical_bytes(s.length);
  const std::unique_ptr<std::byte[]> payload(new std::byte[payload_bytes]);
  storage_->read_rows(s.blocks, s.length, payload.get());
  FileHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kVersion;
  header.layers = static_cast<uint32_t>(layout_.layer_kv_heads.size());
  header.head_dim = static_cast<uint32_t>(layout_.head_dim);
  header.tokens = static_cast<uint32_t>(s.length);
  std::memcpy(header.model_identity, model_identity.data(),
              std::min(model_identity.size(), sizeof header.model_identity));
  header.payload_bytes = payload_bytes;
  header.payload_checksum = util::stripe_hash(payload.get(), payload_bytes);
  header.element = desc.element == TensorType::f16 ? kElementF16 : kElementF32;
  uint64_t check = header_checksum(header, sizeof header, layout_.layer_kv_heads);

  // Write beside the target under a name of this process and call, then rename, so a crash
  // never leaves a half-written file at `path` and savers at once never share a temporary.
  static std::atomic<uint64_t> saves{0};
  const std::string temp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(saves++);
  struct RemoveUnlessMoved {
    const std::string& file;
    bool moved = false;
    ~RemoveUnlessMoved() {
      std::error_code ignored;
      if (!moved) std::filesystem::remove(file, ignored);
    }
  } cleanup{temp};
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write KV cache file", ErrorCode::failed);
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    out.write(reinterpret_cast<const char*>(layout_.layer_kv_heads.data()),
              layout_.layer_kv_heads.size() * sizeof(int32_t));
    out.write(reinterpret_cast<const char*>(&check), sizeof check);
    out.write(reinterpret_cast<const char*>(payload.get()),
              static_cast<std::streamsize>(payload_bytes));
    if (!out.flush()) throw Error(path + ": writing the KV cache file failed", ErrorCode::failed);
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    throw Error(path + ": cannot move the KV cache file into place: " + ec.message(),
                ErrorCode::failed);
  }
  cleanup.moved = true;
}

int32_t KvCache::load(const std::string& path, const std::string& model_identity) {
  // Mapped, not read: the checksum and the copy into the cache read the page cache directly.
  // hearth's writers only ever rename a finished file into place, so a file never shrinks
  // while it is mapped; another program cutting it short then would end the process (SIGBUS).
  const util::MappedFile file(path, "KV cache file", true);
  const std::span<const std::byte> bytes = file.bytes();
  size_t offset = 0;
  auto take = [&](void* out, size_t n) {
    if (bytes.size() - offset < n) return false;
    std::memcpy(out, bytes.data() + offset, n);
    offset += n;
    return true;
  };
  FileHeader header{};
  if (!take(&header, kHeaderBytesV1) || std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) {
    throw Error(path + ": not a hearth KV cache file");
  }
  if (header.version != 1 && header.version != kVersion) {
    throw Error(path + ": KV cache file version " + std::to_string(header.version) +
                " is not supported (this reads 1 and " + std::to_string(kVersion) + ")");
  }
  const bool v1 = header.version == 1;
  const size_t header_bytes = v1 ? kHeaderBytesV1 : sizeof header;
  if (!v1 &&
      !take(reinterpret_cast<char*>(&header) + kHeaderBytesV1, sizeof header - kHeaderBytesV1)) {
    throw Error(path + ": KV cache header is truncated");
  }
  // The header's checksum first: a damaged header is reported as damaged, not as a file
  // from another model.
  if (header.layers == 0 || header.layers > 4096) {
    throw Error(path + ": KV cache header is damaged (layer count)");
  }
  std::vector<int32_t> kv_heads(header.layers);
  uint64_t check = 0;
  if (!take(kv_heads.data(), kv_heads.size() * sizeof(int32_t)) || !take(&check, sizeof check) ||
      check != header_checksum(header, header_bytes, kv_heads)) {
    throw Error(path + ": KV cache header is damaged (checksum mismatch)");
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
  if (kv_heads != layout_.layer_kv_heads) {
    throw Error(path + ": KV cache has other KV head counts than this model");
  }
  // Everything the header claims is checked against the file and the free cache before any
  // memory is reserved for it.
  const int64_t capacity = int64_t{free_blocks()} * layout_.block_tokens;
  if (header.tokens == 0 || int64_t{header.tokens} > capacity) {
    throw Error(path + ": KV cache holds " + std::to_string(header.tokens) +
                    " positions; the cache has room for " + std::to_string(capacity),
                header.tokens == 0 ? ErrorCode::invalid_argument : ErrorCode::out_of_memory);
  }
  if (!v1 && header.element != kElementF32 && header.element != kElementF16) {
    throw Error(path + ": KV cache header is damaged (element type " +
                std::to_string(header.element) + ")");
  }
  const size_t stored_element_bytes = v1 || header.element == kElementF32 ? 4 : 2;
  size_t expected = 0;
  for (int32_t h : kv_heads) expected += 2 * size_t(header.tokens) * h * layout_.head_dim;
  if (header.payload_bytes != expected * stored_element_bytes ||
      bytes.size() - offset != header.payload_bytes) {
    throw Error(path + ": KV cache payload size does not match its header (file truncated?)");
  }
  const std::span<const std::byte> payload = bytes.subspan(offset);
  uint64_t sum = 0;
  if (v1) {
    util::Fnv1a fnv;
    fnv.update(payload.data(), payload.size());
    sum = fnv.digest();
  } else {
    sum = util::stripe_hash(payload.data(), payload.size());
  }
  if (sum != header.payload_checksum) {
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
  const bool cache_f16 = desc.element == TensorType::f16;
  if (!v1 && (header.element == kElementF16) == cache_f16) {
    storage_->write_rows(block_table(sequence), tokens, payload.data());  // as saved
  } else {
    std::vector<std::byte> canonical(desc.canonical_bytes(tokens));
    if (v1) {
      const auto* f32 = reinterpret_cast<const float*>(payload.data());
      if (cache_f16) {
        from_v1(kv_heads, layout_.head_dim, tokens, f32,
                reinterpret_cast<uint16_t*>(canonical.data()));
      } else {
        from_v1(kv_heads, layout_.head_dim, tokens, f32,
                reinterpret_cast<float*>(canonical.data()));
      }
    } else {
      convert(payload, header.element == kElementF16, canonical.data());
    }
    storage_->write_rows(block_table(sequence), tokens, canonical.data());
  }
  return sequence;
}

}  // namespace hearth
