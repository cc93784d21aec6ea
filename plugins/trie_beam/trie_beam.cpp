// Trie beam search (decoding plugin). The beams form one prefix tree in the paged KV cache:
// a beam is a sequence, a child of a beam forks its parent's sequence (the shared blocks are
// referenced, not copied; only a partly filled last block is copied on the first write), and a
// beam that falls out is dropped at once, which frees the blocks no other beam holds. A parent
// whose first child continues it keeps its sequence, so a step whose beams all continue
// distinct parents copies nothing. Every step's beams are fed as one batch, which the
// scheduler runs beside other requests' rows.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "beam_options.h"
#include "beam_search.h"
#include "hearth/plugin.hpp"

namespace trie_beam {
namespace {

using hearth::sdk::DecodeInput;
using hearth::sdk::DecodeOutput;
using hearth::sdk::DecodeRequest;
using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Hypothesis;
using hearth::sdk::Options;

int32_t length_limit(const BeamOptions& options, const DecodeRequest& request,
                     const hearth_model_desc& model) {
  int32_t limit = model.context_size - static_cast<int32_t>(request.prompt.size());
  if (options.max_new_tokens >= 0) limit = std::min(limit, options.max_new_tokens);
  if (request.max_tokens >= 0) limit = std::min(limit, request.max_tokens);
  return std::max(limit, 0);
}

std::vector<int32_t> eos_tokens(const BeamOptions& options, const hearth_model_desc& model) {
  if (!options.eos_token_ids.empty()) return options.eos_token_ids;
  if (model.eos_token >= 0) return {model.eos_token};
  return {};
}

class TrieBeamSession : public hearth::sdk::DecodeSession {
 public:
  TrieBeamSession(Host host, const BeamOptions& options, const DecodeRequest& request)
      : host_(host),
        vocab_(host.model().vocab_size),
        original_(request.sequence),
        share_kv_(options.share_kv),
        reorder_kv_(options.reorder_kv),
        search_(options, request.prompt, vocab_, eos_tokens(options, host.model()),
                length_limit(options, request, host.model())),
        sequences_{request.sequence},
        request_id_(request.request_id),
        prompt_length_(static_cast<int32_t>(request.prompt.size())),
        position_(prompt_length_) {}

  ~TrieBeamSession() override {
    // The request's own sequence is the host's to drop; every fork is ours.
    for (hearth_sequence_id sequence : sequences_) {
      if (sequence != original_) drop_quietly(sequence);
    }
  }

  void step(const DecodeInput& input, DecodeOutput& output) override {
    const size_t beams = search_.beams().size();
    if (input.logit_rows != beams || !input.logits) {
      throw Error(HEARTH_ERROR_FAILED, "trie_beam: expected " + std::to_string(beams) +
                                           " rows of logits, got " +
                                           std::to_string(input.logit_rows));
    }
    std::vector<const float*> rows(beams);
    for (size_t i = 0; i < beams; ++i) rows[i] = input.row(i);
    const std::vector<Continuation> next = search_.step(rows);
    ++steps_;
    if (next.empty()) {
      output.finished = true;
      emit_step(0);
      return;
    }
    reassign_sequences(next);
    emit_step(static_cast<int32_t>(next.size()));
    output.rows.reserve(next.size());
    for (size_t i = 0; i < next.size(); ++i) {
      output.rows.push_back({next[i].token, position_, sequences_[i], 1});
    }
    ++position_;
  }

  std::vector<Hypothesis> result() override {
    // The search is over: its forks go now, so the request ends holding only its own.
    for (hearth_sequence_id sequence : sequences_) {
      if (sequence != original_) drop_quietly(sequence);
    }
    sequences_.clear();
    std::vector<Hypothesis> out;
    for (const FinishedHypothesis& h : search_.result()) {
      out.push_back({h.tokens, static_cast<float>(h.score)});
    }
    return out;
  }

 private:
  // New beam i continues next[i].parent: parents without children are dropped, the first child
  // of a parent takes its sequence, and the others fork it (or copy it, without sharing).
  void reassign_sequences(const std::vector<Continuation>& next) {
    if (reorder_kv_) return reorder_sequences(next);
    // Parents without children go first, so their blocks are free for the copies below.
    std::vector<bool> has_child(sequences_.size(), false);
    for (const Continuation& c : next) has_child[static_cast<size_t>(c.parent)] = true;
    for (size_t p = 0; p < sequences_.size(); ++p) {
      if (!has_child[p]) release(sequences_[p]);
    }
    std::vector<hearth_sequence_id> children(next.size(), -1);
    std::vector<bool> taken(sequences_.size(), false);
    for (size_t i = 0; i < next.size(); ++i) {
      const auto parent = static_cast<size_t>(next[i].parent);
      if (!taken[parent]) {
        taken[parent] = true;
        children[i] = sequences_[parent];
      } else {
        children[i] = share_kv_ ? host_.fork(sequences_[parent]) : host_.copy(sequences_[parent]);
      }
    }
    sequences_ = std::move(children);
  }

  // Batch beam search's reorder: every new beam gets a fresh copy of its parent's cache, then
  // the old beams go, so k caches are copied at every step.
  void reorder_sequences(const std::vector<Continuation>& next) {
    std::vector<hearth_sequence_id> children(next.size(), -1);
    try {
      for (size_t i = 0; i < next.size(); ++i) {
        children[i] = host_.copy(sequences_[static_cast<size_t>(next[i].parent)]);
      }
    } catch (...) {
      for (hearth_sequence_id child : children) {
        if (child >= 0) drop_quietly(child);
      }
      throw;
    }
    for (hearth_sequence_id old : sequences_) release(old);
    sequences_ = std::move(children);
  }

  // One DECODE_STEP event for the metrics plugins: the beams, the finished hypotheses and the
  // cache the tree holds (live and shared bytes are the whole cache's).
  void emit_step(int32_t live) {
    hearth_event event{};
    event.type = HEARTH_EVENT_DECODE_STEP;
    event.request_id = request_id_;
    event.time_seconds = host_.now();
    event.prompt_tokens = prompt_length_;
    event.generated_tokens = steps_;  // tokens each hypothesis has been offered
    event.token = -1;
    event.live_branches = live;
    event.finished_branches = static_cast<int32_t>(search_.finished_count());
    const hearth_memory_stats stats = host_.memory_stats();
    event.kv_bytes = stats.kv_live_bytes;
    event.kv_shared_bytes = stats.kv_shared_bytes;
    host_.emit(event);
  }

  void release(hearth_sequence_id sequence) {
    if (sequence == original_) {
      // The host drops the request's own sequence when the request ends; emptying it frees
      // its blocks now.
      host_.truncate(sequence, 0);
    } else {
      host_.drop(sequence);
    }
  }

  void drop_quietly(hearth_sequence_id sequence) noexcept {
    try {
      host_.drop(sequence);
    } catch (...) {
    }
  }

  Host host_;
  int32_t vocab_;
  hearth_sequence_id original_;
  bool share_kv_;
  bool reorder_kv_;
  BeamSearch search_;
  std::vector<hearth_sequence_id> sequences_;  // one per running beam, in beam order
  uint64_t request_id_;
  int32_t prompt_length_;
  int32_t position_;  // where the next rows go: the length every running beam has
  int32_t steps_ = 0;
};

class TrieBeam : public hearth::sdk::DecodingPlugin {
 public:
  TrieBeam(Host host, const Options& options)
      : DecodingPlugin(host, options),
        options_(parse_beam_options(options, vocab_size(host))),
        configured_(options.entries()) {}

  std::unique_ptr<hearth::sdk::DecodeSession> begin(const DecodeRequest& request) override {
    if (!request.prompt_logits) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "trie_beam: no prompt logits");
    }
    const BeamOptions options = request_options(request);
    check_kv_room(options, request);
    return std::make_unique<TrieBeamSession>(host(), options, request);
  }

  // The plugin's options with the request's in place of the same keys, checked again: a bad
  // request option fails that request alone, naming the option.
  BeamOptions request_options(const DecodeRequest& request) const {
    if (request.options.empty()) return options_;
    // Options keep the last entry of a key, so the request's, appended, win.
    std::vector<std::pair<std::string, std::string>> merged = configured_;
    merged.insert(merged.end(), request.options.begin(), request.options.end());
    return parse_beam_options(Options(merged), host().model().vocab_size);
  }

  // Before any work: refuses a search whose beams could never fit the whole KV cache, and
  // tells the host how many blocks to keep free for them.
  int64_t admit(const DecodeRequest& request) override {
    const BeamOptions options = request_options(request);
    const std::optional<KvBound> bound = kv_bound(options, request);
    if (!bound) return 0;
    const int64_t total = static_cast<int64_t>(bound->stats.kv_capacity_bytes /
                                               std::max<uint64_t>(1, bound->stats.kv_block_bytes));
    const int64_t prompt_blocks =
        (static_cast<int64_t>(request.prompt.size()) + bound->stats.kv_block_tokens - 1) /
        bound->stats.kv_block_tokens;
    const int64_t room = total - prompt_blocks;
    refuse_beyond(options, *bound, room,
                  "the whole cache has " + std::to_string(std::max<int64_t>(0, room)) +
                      " beyond the prompt's");
    return bound->blocks;
  }

 private:
  // The blocks k beams may come to own beyond the prompt's: from the prompt's partly filled
  // last block on to the length limit, each (copying: every block). Without a token limit
  // the bound is the whole context, which a cache sized for one context never holds k times;
  // such a search is left to run, and fails cleanly if the cache fills.
  struct KvBound {
    hearth_memory_stats stats;
    int64_t limit;   // new tokens at most
    int64_t blocks;  // beyond the prompt's
  };
  std::optional<KvBound> kv_bound(const BeamOptions& options, const DecodeRequest& request) const {
    if (options.max_new_tokens < 0 && request.max_tokens < 0) return std::nullopt;
    hearth_memory_stats stats{};
    try {
      stats = host().memory_stats();
    } catch (const Error&) {
      return std::nullopt;  // a host without the service
    }
    constexpr size_t kNeeded = offsetof(hearth_memory_stats, kv_free_blocks) + sizeof(int32_t);
    if (stats.struct_size < kNeeded || stats.kv_block_tokens <= 0) return std::nullopt;
    const int64_t block = stats.kv_block_tokens;
    const int64_t limit = length_limit(options, request, host().model());
    const int64_t prompt = static_cast<int64_t>(request.prompt.size());
    const int64_t held = (prompt + block - 1) / block;
    const int64_t start = options.share_kv ? prompt % block : prompt;
    const int64_t per_beam = (start + limit + block - 1) / block;
    // Reordering, the old beams' copies still exist while the new ones are made: twice.
    const int64_t copies = options.reorder_kv ? 2 * options.num_beams : options.num_beams;
    const int64_t blocks = copies * per_beam - (options.share_kv ? (prompt % block > 0) : held);
    return KvBound{stats, limit, blocks};
  }

  static void refuse_beyond(const BeamOptions& options, const KvBound& bound, int64_t room,
                            const std::string& room_text) {
    if (bound.blocks <= room) return;
    throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                "trie_beam: num_beams = " + std::to_string(options.num_beams) + " with up to " +
                    std::to_string(bound.limit) + " new tokens may need " +
                    std::to_string(bound.blocks) + " KV cache blocks of " +
                    std::to_string(bound.stats.kv_block_tokens) + " positions, and " + room_text +
                    ": lower num_beams or the token limit, or give the KV cache more room");
  }

  // At begin() the blocks must be free now (a host before ABI 1.4 never called admit()).
  void check_kv_room(const BeamOptions& options, const DecodeRequest& request) const {
    const std::optional<KvBound> bound = kv_bound(options, request);
    if (bound) {
      refuse_beyond(options, *bound, bound->stats.kv_free_blocks,
                    std::to_string(bound->stats.kv_free_blocks) + " are free");
    }
  }

  static int32_t vocab_size(Host host) {
    try {
      return host.model().vocab_size;
    } catch (const Error&) {
      return 1 << 30;  // no model yet: EOS ids are checked against it at the first request
    }
  }

  BeamOptions options_;
  std::vector<std::pair<std::string, std::string>> configured_;  // as [plugins.options] gave them
};

}  // namespace
}  // namespace trie_beam

HEARTH_PLUGIN(trie_beam::TrieBeam, "trie_beam", "1.0",
              "beam search whose beams share one prefix tree of KV cache")
