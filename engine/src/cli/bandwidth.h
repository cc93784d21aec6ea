// A STREAM-like probe of the machine's memory read bandwidth: the ceiling for decode, which
// reads every weight once per token.
#pragma once

#include <cstddef>

namespace hearth::cli {

// Reads a buffer of `bytes` (much larger than the caches) with `threads` threads, several
// times, and returns the best rate in bytes per second.
double measure_read_bandwidth(int threads, size_t bytes = size_t{1} << 30, int repetitions = 5);

}  // namespace hearth::cli
