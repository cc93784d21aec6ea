// A probe of the machine's peak f32 multiply-add rate: the ceiling for prefill, which does two
// flops per weight per prompt token.
#pragma once

namespace hearth::cli {

// Runs independent fused multiply-add chains on `threads` threads with the widest vectors the
// CPU has (AVX-512, AVX2+FMA, else plain code) and returns the best rate in flops per second.
double measure_peak_flops(int threads, int repetitions = 3);

}  // namespace hearth::cli
