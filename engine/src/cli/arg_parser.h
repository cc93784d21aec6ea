// A small command-line parser: each option binds to a variable, --help prints the usage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "hearth/settings.h"

namespace hearth::cli {

class ArgParser {
 public:
  ArgParser(std::string usage, std::string summary);

  void option(std::vector<std::string> names, std::string metavar, std::string help,
              std::string* target);
  void option(std::vector<std::string> names, std::string metavar, std::string help,
              int32_t* target);
  void option(std::vector<std::string> names, std::string metavar, std::string help, float* target);
  // Values outside the setting's range (settings.h) or not among its choices are refused,
  // naming the option: the same rule the TOML file and the API apply.
  void option(std::vector<std::string> names, std::string metavar, std::string help,
              int32_t* target, settings::IntRange range);
  void option(std::vector<std::string> names, std::string metavar, std::string help, float* target,
              settings::RealRange range);
  void option(std::vector<std::string> names, std::string metavar, std::string help,
              std::string* target, std::span<const std::string_view> choices);
  void option(std::vector<std::string> names, std::string metavar, std::string help,
              std::optional<uint64_t>* target);
  // A repeatable option: every occurrence is appended.
  void option(std::vector<std::string> names, std::string metavar, std::string help,
              std::vector<std::string>* target);
  void flag(std::vector<std::string> names, std::string help, bool* target);
  // Collects non-option arguments (at most `max`).
  void positional(std::string metavar, std::vector<std::string>* target, size_t max);

  // Returns false when --help was printed. Throws hearth::Error on bad usage.
  bool parse(int argc, char** argv);
  // Whether an option was given on the command line (by any of its names).
  bool given(const std::string& name) const;
  std::string help() const;

 private:
  using Target = std::variant<std::string*, int32_t*, float*, std::optional<uint64_t>*, bool*,
                              std::vector<std::string>*>;
  struct Option {
    std::vector<std::string> names;
    std::string metavar, help;
    Target target;
    std::optional<settings::IntRange> int_range;
    std::optional<settings::RealRange> real_range;
    std::span<const std::string_view> choices;
    bool seen = false;
  };
  Option* find(const std::string& name);

  std::string usage_, summary_;
  std::vector<Option> options_;
  std::string positional_name_;
  std::vector<std::string>* positional_ = nullptr;
  size_t positional_max_ = 0;
};

}  // namespace hearth::cli
