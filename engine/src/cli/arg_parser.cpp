#include "cli/arg_parser.h"

#include <cfloat>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "hearth/error.h"

namespace hearth::cli {
namespace {

template <typename T>
T parse_number(const std::string& option, const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    throw Error("option " + option + ": '" + text + "' is not a valid number");
  }
  return value;
}

}  // namespace

ArgParser::ArgParser(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {}

void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       std::string* target) {
  options_.push_back({std::move(names), std::move(metavar), std::move(help), target});
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       int32_t* target) {
  options_.push_back({std::move(names), std::move(metavar), std::move(help), target});
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       float* target) {
  options_.push_back({std::move(names), std::move(metavar), std::move(help), target});
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       std::optional<uint64_t>* target) {
  options_.push_back({std::move(names), std::move(metavar), std::move(help), target});
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       std::vector<std::string>* target) {
  options_.push_back({std::move(names), std::move(metavar), std::move(help), target});
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       int32_t* target, settings::IntRange range) {
  option(std::move(names), std::move(metavar), std::move(help), target);
  options_.back().int_range = range;
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       float* target, settings::RealRange range) {
  option(std::move(names), std::move(metavar), std::move(help), target);
  options_.back().real_range = range;
}
void ArgParser::option(std::vector<std::string> names, std::string metavar, std::string help,
                       std::string* target, std::span<const std::string_view> choices) {
  option(std::move(names), std::move(metavar), std::move(help), target);
  options_.back().choices = choices;
}
void ArgParser::flag(std::vector<std::string> names, std::string help, bool* target) {
  options_.push_back({std::move(names), "", std::move(help), target});
}
void ArgParser::positional(std::string metavar, std::vector<std::string>* target, size_t max) {
  positional_name_ = std::move(metavar);
  positional_ = target;
  positional_max_ = max;
}

ArgParser::Option* ArgParser::find(const std::string& name) {
  for (auto& o : options_) {
    for (const auto& n : o.names) {
      if (n == name) return &o;
    }
  }
  return nullptr;
}

bool ArgParser::given(const std::string& name) const {
  // Any of an option's names answers for it: given("-t") is true after --threads 4.
  for (const auto& o : options_) {
    for (const auto& n : o.names) {
      if (n == name) return o.seen;
    }
  }
  return false;
}

bool ArgParser::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    std::string inline_value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      inline_value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_inline = true;
    }
    Option* o =
        arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9') ? find(arg) : nullptr;
    if (!o) {
      if (arg.size() > 1 && arg[0] == '-') throw Error("unknown option " + arg + " (see --help)");
      if (!positional_ || positional_->size() >= positional_max_) {
        throw Error("unexpected argument '" + arg + "' (see --help)");
      }
      positional_->push_back(arg);
      continue;
    }
    o->seen = true;
    if (auto* b = std::get_if<bool*>(&o->target)) {
      if (has_inline) throw Error("option " + arg + " takes no value");
      **b = true;
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= argc) throw Error("option " + arg + " needs a value " + o->metavar);
      inline_value = argv[++i];
    }
    auto refuse_if = [&](const std::string& why) {
      if (!why.empty()) throw Error("option " + arg + ": " + why);
    };
    if (auto* s = std::get_if<std::string*>(&o->target)) {
      if (!o->choices.empty()) refuse_if(settings::check(inline_value, o->choices));
      **s = inline_value;
    } else if (auto* n = std::get_if<int32_t*>(&o->target)) {
      int64_t value = parse_number<int64_t>(arg, inline_value);
      refuse_if(
          settings::check(value, o->int_range.value_or(settings::IntRange{INT32_MIN, INT32_MAX})));
      **n = static_cast<int32_t>(value);
    } else if (auto* f = std::get_if<float*>(&o->target)) {
      double value = parse_number<double>(arg, inline_value);
      refuse_if(settings::check_float(
          value, o->real_range.value_or(settings::RealRange{-FLT_MAX, FLT_MAX})));
      **f = static_cast<float>(value);
    } else if (auto* list = std::get_if<std::vector<std::string>*>(&o->target)) {
      (*list)->push_back(inline_value);
    } else if (auto* u = std::get_if<std::optional<uint64_t>*>(&o->target)) {
      **u = parse_number<uint64_t>(arg, inline_value);
    }
  }
  return true;
}

std::string ArgParser::help() const {
  std::string out = "usage: " + usage_ + "\n\n" + summary_ + "\n\noptions:\n";
  for (const auto& o : options_) {
    std::string names;
    for (const auto& n : o.names) names += (names.empty() ? "" : ", ") + n;
    if (!o.metavar.empty()) names += " " + o.metavar;
    out += "  " + names;
    out += names.size() < 28 ? std::string(28 - names.size(), ' ') : "\n" + std::string(30, ' ');
    out += o.help + "\n";
  }
  out += "  -h, --help                  show this help\n";
  return out;
}

}  // namespace hearth::cli
