// Probes of the machine's peak compute: the ceiling for prefill, which does two operations per
// weight per prompt token, in f32 multiply-adds for float weights and in int8 dot products for
// quantized ones.
#pragma once

namespace hearth::cli {

// Runs independent fused multiply-add chains on `threads` threads with the widest vectors the
// CPU has (AVX-512, AVX2+FMA, else plain code) and returns the best rate in flops per second.
double measure_peak_flops(int threads, int repetitions = 3);

// The same for unsigned-by-signed int8 dot products into 32-bit sums (AVX-512 VNNI, AVX2
// multiply-add pairs), as the quantized matrix kernels use them; in operations per second.
double measure_peak_int8_ops(int threads, int repetitions = 3);

}  // namespace hearth::cli
