// hearth: one batch of tokens for a forward pass. A batch may mix sequences, so prefill,
// decode, beams and concurrent clients all go through the same call.
#pragma once

#include <cstdint>

namespace hearth {

using SequenceId = int32_t;

struct BatchToken {
  int32_t token = 0;
  // Must continue the sequence: its current length plus the number of earlier batch entries
  // of the same sequence.
  int32_t position = 0;
  SequenceId sequence = 0;
  bool wants_logits = false;
};

}  // namespace hearth
