// The paged KV cache's bookkeeping: a pool of fixed-size blocks with reference counts, and
// sequences as block tables. Forks share blocks; the first write into a shared, partly filled
// block copies it (copy-on-write). The block memory and its layout belong to the backend
// (backend::KvStorage); this cache refers to blocks only by index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend.h"
#include "hearth/kv_cache_stats.h"

namespace hearth {

struct KvCacheLayout {
  std::vector<int32_t> layer_kv_heads;  // may differ per layer
  int32_t head_dim = 0;
  int32_t block_tokens = 16;
  TensorType element = TensorType::f16;  // f16 halves the memory and the bytes read per token
};

// The cache's size, as memory reports quote it.
struct KvCacheGeometry {
  int32_t block_tokens = 0;
  int32_t total_blocks = 0;
  size_t block_bytes = 0;  // keys and values of one block over all layers
};

class KvCache {
 public:
  // Allocates as many blocks as fit in `budget_bytes` (at least one) on the backend.
  KvCache(backend::Backend& backend, KvCacheLayout layout, size_t budget_bytes);

  int32_t create();
  int32_t fork(int32_t parent);
  // A new sequence with its own copy of every block of `source` (nothing shared).
  int32_t copy(int32_t source);
  void truncate(int32_t sequence, int32_t length);
  void drop(int32_t sequence);
  bool contains(int32_t sequence) const { return sequences_.count(sequence) != 0; }
  int32_t length(int32_t sequence) const;
  std::span<const int32_t> block_table(int32_t sequence) const;

  // Makes room for `count` more tokens at the end of `sequence` (allocating blocks and
  // copying a shared partial block first) and appends their physical slots to `slots`.
  // Throws hearth::Error when the budget is exhausted, leaving the cache unchanged.
  void append(int32_t sequence, int32_t count, std::vector<int32_t>& slots);
  // Blocks `append(sequence, count)` would take from the free pool.
  int32_t blocks_needed(int32_t sequence, int32_t count) const;
  // The same for several appends done one after the other (sequence, count): when every
  // holder of a shared partial block appends, the last one finds it unshared and needs no copy.
  int32_t blocks_needed(std::span<const std::pair<int32_t, int32_t>> appends) const;

  // Writes a sequence's cache to `path` (see sequence_file.cpp) / reads one into a new
  // sequence. load() refuses files from another model, other geometry, or damaged ones.
  void save(int32_t sequence, const std::string& path, const std::string& model_identity) const;
  int32_t load(const std::string& path, const std::string& model_identity);

  int32_t total_blocks() const { return static_cast<int32_t>(ref_counts_.size()); }
  int32_t free_blocks() const { return static_cast<int32_t>(free_blocks_.size()); }
  // Blocks more than one sequence holds, kept as references change so events can carry it.
  int32_t shared_blocks() const { return shared_blocks_; }
  KvCacheStats stats() const;
  const KvCacheGeometry& geometry() const { return geometry_; }
  backend::KvStorage& storage() { return *storage_; }
  const backend::KvStorage& storage() const { return *storage_; }

 private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int32_t length = 0;
  };
  Sequence& get(int32_t sequence);
  const Sequence& get(int32_t sequence) const;
  int32_t take_block();
  int32_t peak_used_blocks_ = 0;
  int32_t shared_blocks_ = 0;
  void release(int32_t block);

  KvCacheLayout layout_;
  KvCacheGeometry geometry_;
  std::unique_ptr<backend::KvStorage> storage_;
  std::vector<int32_t> ref_counts_;
  std::vector<int32_t> free_blocks_;
  std::unordered_map<int32_t, Sequence> sequences_;
  int32_t next_sequence_ = 0;
};

}  // namespace hearth
