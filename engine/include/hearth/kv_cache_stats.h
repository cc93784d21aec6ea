// hearth: what the KV cache holds, in bytes a caller can check.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth {

struct KvCacheStats {
  size_t capacity_bytes = 0;  // the whole budget, allocated up front
  size_t block_bytes = 0;     // one block: block_tokens positions of every layer's K and V
  int32_t block_tokens = 0;
  int32_t total_blocks = 0;
  int32_t used_blocks = 0;    // referenced by at least one sequence
  int32_t shared_blocks = 0;  // referenced by more than one sequence
  size_t live_bytes = 0;      // used_blocks * block_bytes
  size_t shared_bytes = 0;    // shared_blocks * block_bytes
  int32_t sequences = 0;
  size_t peak_live_bytes = 0;  // the most live_bytes have been since the cache was made
};

}  // namespace hearth
