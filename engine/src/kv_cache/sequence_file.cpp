// Saving a sequence's KV cache to a file and reading it back into a new sequence.
//
// File layout (little-endian): a fixed header, the per-layer KV head counts, then the payload:
// for each layer, for each position, the K row and then the V row (kv_heads * head_dim f32
// each). The payload does not depend on the block size, so any cache configuration can read
// it. Both the header and the payload carry an FNV-1a checksum.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "cpu/kernels/fp16.h"
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

// Cache elements (f16 or f32) read and written as f32: files always hold f32, so any cache
// configuration reads any file.
struct Elements {
  std::byte* base;
  TensorType type;
  size_t size() const { return type == TensorType::f16 ? 2 : 4; }
  std::byte* at(size_t i) const { return base + i * size(); }
  float get(size_t i) const {
    if (type == TensorType::f16) {
      uint16_t h;
      std::memcpy(&h, at(i), 2);
      return cpu::f16_to_f32(h);
    }
    float f;
    std::memcpy(&f, at(i), 4);
    return f;
  }
  void set(size_t i, float v) const {
    if (type == TensorType::f16) {
      uint16_t h = cpu::f32_to_f16(v);
      std::memcpy(at(i), &h, 2);
    } else {
      std::memcpy(at(i), &v, 4);
    }
  }
};

}  // namespace

// Copies positions [0, length) of `sequence` to `out` in the file's payload order.
static void gather(const KvCache& cache, backend::Backend& backend, const void* device,
                   std::span<const int32_t> table, int32_t length, std::vector<float>& out) {
  const auto& g = cache.geometry();
  const size_t layers = g.layer_offsets.size();
  size_t row_offset_per_layer = 0;
  std::vector<size_t> layer_base(layers);
  for (size_t l = 0; l < layers; ++l) {
    layer_base[l] = row_offset_per_layer;
    row_offset_per_layer += 2 * size_t(length) * g.layer_kv_heads[l] * g.head_dim;
  }
  out.assign(row_offset_per_layer, 0.0f);
  std::vector<std::byte> key_chunk(g.chunk_bytes()), value_chunk(g.chunk_bytes());
  const auto* base = static_cast<const std::byte*>(device);
  for (size_t b = 0; b * g.block_tokens < size_t(length); ++b) {
    for (size_t l = 0; l < layers; ++l) {
      const int32_t heads = g.layer_kv_heads[l];
      const size_t row = size_t(heads) * g.head_dim;
      for (int32_t h = 0; h < heads; ++h) {
        backend.download(key_chunk.data(), base + g.key_offset(l, h, table[b]), g.chunk_bytes());
        backend.download(value_chunk.data(), base + g.value_offset(l, h, table[b]),
                         g.chunk_bytes());
        const Elements keys{key_chunk.data(), g.element}, values{value_chunk.data(), g.element};
        for (int32_t o = 0; o < g.block_tokens; ++o) {
          const size_t p = b * g.block_tokens + o;
          if (p >= size_t(length)) break;
          float* k_dst = out.data() + layer_base[l] + p * 2 * row + h * g.head_dim;
          for (int32_t d = 0; d < g.head_dim; ++d) {
            k_dst[d] = keys.get(size_t(d) * g.block_tokens + o);  // [d][o]
            k_dst[row + d] = values.get(size_t(o) * g.head_dim + d);
          }
        }
      }
    }
  }
}

void KvCache::save(int32_t sequence, const std::string& path,
                   const std::string& model_identity) const {
  const Sequence& s = get(sequence);
  std::vector<float> payload;
  gather(*this, backend_, storage_->data(), s.blocks, s.length, payload);
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
  // Scatter block by block: build each block's image on the host, then upload it once.
  const auto& g = geometry_;
  const auto table = block_table(sequence);
  size_t layer_base = 0;
  std::vector<size_t> bases;
  for (int32_t h : kv_heads) {
    bases.push_back(layer_base);
    layer_base += 2 * size_t(tokens) * h * g.head_dim;
  }
  std::vector<std::byte> key_chunk(g.chunk_bytes()), value_chunk(g.chunk_bytes());
  auto* device = static_cast<std::byte*>(storage_->data());
  for (size_t b = 0; b < table.size(); ++b) {
    for (size_t l = 0; l < kv_heads.size(); ++l) {
      const int32_t heads = kv_heads[l];
      const size_t row = size_t(heads) * g.head_dim;
      for (int32_t h = 0; h < heads; ++h) {
        std::memset(key_chunk.data(), 0, key_chunk.size());
        std::memset(value_chunk.data(), 0, value_chunk.size());
        const Elements keys{key_chunk.data(), g.element}, values{value_chunk.data(), g.element};
        for (int32_t o = 0; o < g.block_tokens; ++o) {
          const size_t p = b * g.block_tokens + o;
          if (p >= size_t(tokens)) break;
          const float* src = payload.data() + bases[l] + p * 2 * row + h * g.head_dim;
          for (int32_t d = 0; d < g.head_dim; ++d) {
            keys.set(size_t(d) * g.block_tokens + o, src[d]);
            values.set(size_t(o) * g.head_dim + d, src[row + d]);
          }
        }
        backend_.upload(device + g.key_offset(l, h, table[b]), key_chunk.data(), g.chunk_bytes());
        backend_.upload(device + g.value_offset(l, h, table[b]), value_chunk.data(),
                        g.chunk_bytes());
      }
    }
  }
  return sequence;
}

}  // namespace hearth
