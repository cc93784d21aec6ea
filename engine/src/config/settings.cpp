#include "hearth/settings.h"

#include <algorithm>
#include <charconv>

#include "hearth/error.h"

namespace hearth::settings {
namespace {

// The shortest text that reads back as the same number: 1.0000001 stays 1.0000001.
std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : "?";
}

std::string range_text(RealRange range) {
  return (range.min_exclusive ? "(" : "[") + shortest(range.min) + ", " + shortest(range.max) + "]";
}

std::string quoted_choices(std::span<const std::string_view> choices) {
  std::string out;
  for (auto c : choices) out += (out.empty() ? "" : ", ") + ("\"" + std::string(c) + "\"");
  return out;
}

template <typename Value, typename Range>
void require(const char* name, Value value, Range range) {
  if (std::string why = check(value, range); !why.empty())
    throw Error(std::string(name) + ": " + why);
}

void require_choice(const char* name, const std::string& value,
                    std::span<const std::string_view> c) {
  if (std::string why = check(value, c); !why.empty()) throw Error(std::string(name) + ": " + why);
}

}  // namespace

std::string check(int64_t value, IntRange range) {
  if (value >= range.min && value <= range.max) return {};
  return std::to_string(value) + " is outside " + std::to_string(range.min) + ".." +
         std::to_string(range.max);
}

std::string check(double value, RealRange range) {
  bool above_min = range.min_exclusive ? value > range.min : value >= range.min;
  if (above_min && value <= range.max) return {};  // false for NaN
  return shortest(value) + " is outside " + range_text(range);
}

std::string check_float(double value, RealRange range) {
  if (std::string why = check(value, range); !why.empty()) return why;
  const float stored = static_cast<float>(value);
  if (check(stored, range).empty()) return {};
  return shortest(value) + " becomes " + shortest(stored) + " as a 32-bit float, outside " +
         range_text(range);
}

std::string check(std::string_view value, std::span<const std::string_view> choices) {
  for (auto c : choices) {
    if (value == c) return {};
  }
  return "\"" + std::string(value) + "\" is not one of " + quoted_choices(choices);
}

std::string check_device(std::string_view device) {
  if (device == "auto" || device == "cpu") return {};
  const std::string_view name = device.substr(0, device.find(':'));
  const bool gpu = name == "cuda" || name == "hip";
  if (gpu && name.size() == device.size()) return {};
  const std::string_view index = gpu ? device.substr(name.size() + 1) : std::string_view{};
  const bool digits =
      !index.empty() && index.size() <= 3 &&
      std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (gpu && digits) return {};
  return "\"" + std::string(device) +
         "\" is not a device: give cpu, auto, cuda, cuda:N, hip or hip:N (N a device index)";
}

void validate(const EngineOptions& o) {
  require("threads", o.threads, threads);
  require("context_size", o.context_size, context_size);
  require("batch_size", o.max_batch_tokens, batch_size);
  require("kv_block_tokens", o.kv_block_tokens, kv_block_tokens);
  require_choice("kv_cache_type", o.kv_cache_type, kv_cache_types);
  require_choice("cpu_kernels", o.cpu_kernels, cpu_kernels);
  if (std::string why = check_device(o.device); !why.empty()) throw Error("device: " + why);
}

void validate(const SamplingOptions& s) {
  require("temperature", s.temperature, temperature);
  require("top_k", s.top_k, top_k);
  require("top_p", s.top_p, top_p);
  require("min_p", s.min_p, min_p);
  require("repeat_penalty", s.repeat_penalty, repeat_penalty);
  require("repeat_last_n", s.repeat_last_n, repeat_last_n);
}

void validate(const GenerationOptions& o) {
  require("max_tokens", o.max_tokens, max_tokens);
  require("logprobs", o.logprobs, logprobs);
  validate(o.sampling);
}

}  // namespace hearth::settings
