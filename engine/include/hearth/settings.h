// hearth: the valid values of every deployment setting, defined once. The TOML reader, the
// environment, the command line and the C++ API all check against these, so a value means
// the same — or is refused the same way — wherever it comes from.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hearth/engine.h"
#include "hearth/generation.h"

namespace hearth::settings {

struct IntRange {
  int64_t min, max;
};
struct RealRange {
  double min, max;
  bool min_exclusive = false;  // (min, max] instead of [min, max]
};

// Engine.
inline constexpr IntRange threads{0, 1024};  // 0 = all physical cores
inline constexpr IntRange context_size{0, int64_t{1} << 24};
// context_size 0 means max(the model's training context, this).
inline constexpr int32_t default_context_floor = 4096;
inline constexpr IntRange batch_size{1, int64_t{1} << 16};
inline constexpr IntRange kv_cache_mib{0, int64_t{1} << 30};
inline constexpr IntRange kv_block_tokens{1, 1024};
inline constexpr std::string_view kv_cache_types[] = {"f16", "f32"};
inline constexpr std::string_view cpu_kernels[] = {"", "reference", "avx2", "avx512"};
// Devices: "cpu", "auto" (a GPU backend's first device when one is built in and present, else
// the CPU), or a GPU backend with an optional device index: "cuda", "cuda:1", "hip:0".
inline constexpr std::string_view device_backends[] = {"cpu", "cuda", "hip"};

// Generation.
inline constexpr IntRange max_tokens{-1, int64_t{1} << 24};  // -1 = until end of text
inline constexpr RealRange temperature{0, 100};              // 0 = greedy
inline constexpr IntRange top_k{0, int64_t{1} << 24};
inline constexpr RealRange top_p{0, 1, true};
inline constexpr RealRange min_p{0, 1};
inline constexpr RealRange repeat_penalty{0, 100, true};
inline constexpr IntRange repeat_last_n{-1, int64_t{1} << 24};
inline constexpr IntRange logprobs{-1, 20};  // -1 = none; else the alternatives per token

// Server ([server] table, `hearth serve` flags).
inline constexpr IntRange io_threads{1, 256};
inline constexpr IntRange max_body_bytes{1024, int64_t{1} << 30};
inline constexpr IntRange max_header_bytes{1024, int64_t{1} << 20};
inline constexpr IntRange max_connections{1, 1 << 20};
inline constexpr IntRange max_prompt_tokens{0, int64_t{1} << 24};  // 0 = the context less one
inline constexpr IntRange max_tokens_limit{1, int64_t{1} << 24};
inline constexpr IntRange max_choices{1, 256};
inline constexpr IntRange max_concurrent_requests{1, 1 << 16};
inline constexpr IntRange max_queued_requests{0, 1 << 20};
inline constexpr RealRange timeout_seconds{0, 86400, true};
inline constexpr RealRange shutdown_grace{0, 86400};

// A prompt file is read into memory whole; more text than this cannot fit any context.
inline constexpr size_t max_prompt_file_bytes = size_t{64} << 20;

// Each returns "" for a valid value, otherwise why it is not ("-1 is outside 0..1024"),
// for the caller to prefix with where the value came from.
std::string check(int64_t value, IntRange range);
std::string check(double value, RealRange range);
// For a setting stored as a float: also refuses a value the conversion pushes out of range
// (1e-50 becomes 0).
std::string check_float(double value, RealRange range);
std::string check(std::string_view value, std::span<const std::string_view> choices);
// "" when `device` is a device name as described at device_backends, else why not.
std::string check_device(std::string_view device);

// Whole option sets, as the C++ API receives them: throw hearth::Error naming the setting.
void validate(const EngineOptions& options);
void validate(const SamplingOptions& options);
void validate(const GenerationOptions& options);  // includes its sampling options

}  // namespace hearth::settings
