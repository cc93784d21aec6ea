#include "kv_cache/kv_cache.h"

#include <algorithm>
#include <string>

#include "hearth/error.h"

namespace hearth {

KvCache::KvCache(backend::Backend& backend, KvCacheLayout layout, size_t budget_bytes)
    : layout_(std::move(layout)) {
  if (layout_.head_dim <= 0 || layout_.block_tokens <= 0 || layout_.layer_kv_heads.empty() ||
      (layout_.element != TensorType::f16 && layout_.element != TensorType::f32)) {
    throw Error("kv cache: invalid layout");
  }
  backend::KvStorageDesc desc{layout_.layer_kv_heads, layout_.head_dim, layout_.block_tokens,
                              layout_.element, 0};
  const size_t block_bytes = desc.block_bytes();
  size_t blocks = std::max<size_t>(1, budget_bytes / block_bytes);
  if (blocks > INT32_MAX / layout_.block_tokens) blocks = INT32_MAX / layout_.block_tokens;
  desc.blocks = static_cast<int32_t>(blocks);
  storage_ = backend.create_kv_storage(desc);
  ref_counts_.assign(blocks, 0);
  free_blocks_.reserve(blocks);
  for (size_t b = blocks; b-- > 0;) free_blocks_.push_back(static_cast<int32_t>(b));
  geometry_ = {layout_.block_tokens, desc.blocks, block_bytes};
}

KvCache::Sequence& KvCache::get(int32_t sequence) {
  auto it = sequences_.find(sequence);
  if (it == sequences_.end()) throw Error("kv cache: unknown sequence " + std::to_string(sequence));
  return it->second;
}

const KvCache::Sequence& KvCache::get(int32_t sequence) const {
  return const_cast<KvCache*>(this)->get(sequence);
}

int32_t KvCache::create() {
  int32_t id = next_sequence_++;
  sequences_.emplace(id, Sequence{});
  return id;
}

int32_t KvCache::fork(int32_t parent) {
  Sequence copy = get(parent);
  for (int32_t b : copy.blocks) {
    if (++ref_counts_[b] == 2) ++shared_blocks_;
  }
  int32_t id = next_sequence_++;
  sequences_.emplace(id, std::move(copy));
  return id;
}

int32_t KvCache::copy(int32_t source) {
  const Sequence& from = get(source);
  if (from.blocks.size() > free_blocks_.size()) {
    throw Error("kv cache: out of memory: copying sequence " + std::to_string(source) + " needs " +
                    std::to_string(from.blocks.size()) + " blocks, " +
                    std::to_string(free_blocks_.size()) + " of " +
                    std::to_string(ref_counts_.size()) + " are free (raise runtime.kv_cache_mib)",
                ErrorCode::out_of_memory);
  }
  Sequence copy;
  copy.length = from.length;
  for (int32_t block : from.blocks) {
    const int32_t fresh = take_block();
    storage_->copy_block(block, fresh);
    copy.blocks.push_back(fresh);
  }
  const int32_t id = next_sequence_++;
  sequences_.emplace(id, std::move(copy));
  return id;
}

void KvCache::truncate(int32_t sequence, int32_t length) {
  Sequence& s = get(sequence);
  if (length < 0 || length > s.length) {
    throw Error("kv cache: cannot truncate sequence " + std::to_string(sequence) + " of length " +
                std::to_string(s.length) + " to " + std::to_string(length));
  }
  size_t keep = (static_cast<size_t>(length) + layout_.block_tokens - 1) / layout_.block_tokens;
  while (s.blocks.size() > keep) {
    release(s.blocks.back());
    s.blocks.pop_back();
  }
  s.length = length;
}

void KvCache::drop(int32_t sequence) {
  Sequence& s = get(sequence);
  for (int32_t b : s.blocks) release(b);
  sequences_.erase(sequence);
}

int32_t KvCache::length(int32_t sequence) const { return get(sequence).length; }

std::span<const int32_t> KvCache::block_table(int32_t sequence) const {
  return get(sequence).blocks;
}

int32_t KvCache::blocks_needed(int32_t sequence, int32_t count) const {
  const Sequence& s = get(sequence);
  const int32_t bt = layout_.block_tokens;
  int32_t have = static_cast<int32_t>(s.blocks.size());
  int32_t want = (s.length + count + bt - 1) / bt;
  int32_t needed = std::max(0, want - have);
  bool partial_shared = count > 0 && s.length % bt != 0 && ref_counts_[s.blocks.back()] > 1;
  return needed + (partial_shared ? 1 : 0);
}

int32_t KvCache::blocks_needed(std::span<const std::pair<int32_t, int32_t>> appends) const {
  const int32_t bt = layout_.block_tokens;
  int32_t needed = 0;
  std::vector<std::pair<int32_t, int32_t>> shared_tails;  // (block, appending holders)
  for (auto [sequence, count] : appends) {
    if (count <= 0) continue;
    const Sequence& s = get(sequence);
    int32_t have = static_cast<int32_t>(s.blocks.size());
    needed += std::max(0, (s.length + count + bt - 1) / bt - have);
    if (s.length % bt == 0 || ref_counts_[s.blocks.back()] < 2) continue;
    auto it = std::find_if(shared_tails.begin(), shared_tails.end(),
                           [&](const auto& t) { return t.first == s.blocks.back(); });
    if (it == shared_tails.end()) {
      shared_tails.emplace_back(s.blocks.back(), 1);
    } else {
      ++it->second;
    }
  }
  for (auto [block, holders] : shared_tails) {
    needed += holders == ref_counts_[block] ? holders - 1 : holders;
  }
  return needed;
}

void KvCache::append(int32_t sequence, int32_t count, std::vector<int32_t>& slots) {
  if (count <= 0) return;
  int32_t needed = blocks_needed(sequence, count);
  if (needed > static_cast<int32_t>(free_blocks_.size())) {
    throw Error("kv cache: out of memory: sequence " + std::to_string(sequence) + " needs " +
                    std::to_string(needed) + " more blocks, " +
                    std::to_string(free_blocks_.size()) + " of " +
                    std::to_string(ref_counts_.size()) + " are free (raise runtime.kv_cache_mib)",
                ErrorCode::out_of_memory);
  }
  Sequence& s = get(sequence);
  const int32_t bt = layout_.block_tokens;
  if (s.length % bt != 0 && ref_counts_[s.blocks.back()] > 1) {
    int32_t copy = take_block();
    storage_->copy_block(s.blocks.back(), copy);
    release(s.blocks.back());
    s.blocks.back() = copy;
  }
  for (int32_t i = 0; i < count; ++i) {
    int32_t position = s.length + i;
    if (position / bt >= static_cast<int32_t>(s.blocks.size())) s.blocks.push_back(take_block());
    slots.push_back(s.blocks[position / bt] * bt + position % bt);
  }
  s.length += count;
}

int32_t KvCache::take_block() {
  int32_t b = free_blocks_.back();
  free_blocks_.pop_back();
  ref_counts_[b] = 1;
  peak_used_blocks_ =
      std::max(peak_used_blocks_, static_cast<int32_t>(ref_counts_.size() - free_blocks_.size()));
  return b;
}

void KvCache::release(int32_t block) {
  const int32_t left = --ref_counts_[block];
  if (left == 1) --shared_blocks_;
  if (left == 0) free_blocks_.push_back(block);
}

KvCacheStats KvCache::stats() const {
  KvCacheStats st;
  st.block_bytes = geometry_.block_bytes;
  st.block_tokens = layout_.block_tokens;
  st.total_blocks = static_cast<int32_t>(ref_counts_.size());
  st.capacity_bytes = ref_counts_.size() * geometry_.block_bytes;
  st.used_blocks = total_blocks() - free_blocks();
  st.shared_blocks = shared_blocks_;
  st.live_bytes = static_cast<size_t>(st.used_blocks) * geometry_.block_bytes;
  st.shared_bytes = static_cast<size_t>(st.shared_blocks) * geometry_.block_bytes;
  st.sequences = static_cast<int32_t>(sequences_.size());
  st.peak_live_bytes = static_cast<size_t>(peak_used_blocks_) * geometry_.block_bytes;
  return st;
}

}  // namespace hearth
