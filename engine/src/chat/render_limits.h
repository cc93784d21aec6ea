// The bounds that keep a hostile template from crashing, hanging or exhausting memory: each
// is far above what a real chat template needs, and passing one is a clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace hearth::chat {

inline constexpr size_t kMaxTemplateBytes = size_t{1} << 20;
// Nested blocks and expressions in the parser (a chain such as a + b + c counts one level
// per link), and nested evaluation when rendering (macros calling macros): what bounds the
// stack.
inline constexpr int kMaxParseDepth = 250;
inline constexpr int kMaxEvaluationDepth = 1000;
inline constexpr int kMaxMacroCallDepth = 20;
inline constexpr size_t kMaxOutputBytes = size_t{16} << 20;
// Bytes of every string and list built while rendering, together: bounds memory even when
// a template keeps doubling a value it never prints.
inline constexpr size_t kMaxBuiltBytes = size_t{64} << 20;
// Loop iterations and evaluated expressions in one rendering.
inline constexpr uint64_t kMaxSteps = 5'000'000;
// Elements in one list (a range, a repeated list).
inline constexpr size_t kMaxListItems = size_t{1} << 18;
// Lists and dicts inside one another, in messages or built by a template.
inline constexpr int kMaxValueDepth = 64;

// A failure while evaluating, without a position yet: the evaluator adds the line and
// column of the expression or statement that failed.
class Fault : public std::runtime_error {
 public:
  explicit Fault(const std::string& message) : std::runtime_error(message) {}
};

// What one rendering may still spend.
class RenderBudget {
 public:
  void charge_bytes(size_t bytes) {
    if (bytes > built_left_) {
      throw Fault("the template built more than " + std::to_string(kMaxBuiltBytes >> 20) +
                  " MiB of values while rendering");
    }
    built_left_ -= bytes;
  }
  void step() {
    if (steps_left_ == 0) {
      throw Fault("rendering took more than " + std::to_string(kMaxSteps) +
                  " steps (a loop that does not end?)");
    }
    --steps_left_;
  }
  void check_list_size(size_t items) const {
    if (items > kMaxListItems) {
      throw Fault("a list of " + std::to_string(items) + " items exceeds the limit of " +
                  std::to_string(kMaxListItems));
    }
  }

 private:
  size_t built_left_ = kMaxBuiltBytes;
  uint64_t steps_left_ = kMaxSteps;
};

}  // namespace hearth::chat
