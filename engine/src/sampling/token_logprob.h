// A generated token's log-probability and the most likely tokens of its step, from one row of
// the model's logits (log-softmax of the logits as given; see hearth::TokenLogprob).
#pragma once

#include <cstdint>
#include <span>

#include "hearth/generation.h"

namespace hearth {

// `top` alternatives (0..vocab), best first; ties go to the lower token id.
TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int32_t top);

}  // namespace hearth
