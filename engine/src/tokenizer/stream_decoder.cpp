#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace hearth {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special)
    : tokenizer_(&tokenizer), render_special_(render_special) {}

std::string StreamDecoder::push(int32_t id) {
  tokenizer_->check_id(id);
  // Same rule as Tokenizer::decode(), so the concatenated output matches it exactly.
  if (tokenizer_->append_decoded(id, !seen_text_, render_special_, pending_)) seen_text_ = true;
  const size_t held = tokenizer::utf8_incomplete_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - held);
  pending_.erase(0, pending_.size() - held);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

void StreamDecoder::reset() {
  pending_.clear();
  seen_text_ = false;
}

}  // namespace hearth
