#include "cag_options.h"

#include <algorithm>
#include <filesystem>

namespace cag {
namespace {

using hearth::sdk::Error;

Error invalid(const std::string& message) { return Error(HEARTH_ERROR_INVALID_ARGUMENT, message); }

bool valid_set_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// "a,b" (a TOML list reaches the plugin as its elements joined with commas); empty items and
// surrounding spaces are dropped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) items.push_back(std::move(item));
    start = end + 1;
  }
  return items;
}

}  // namespace

PromptTemplate parse_template(const std::string& text, const std::string& option) {
  static const std::string documents = "{documents}", question = "{question}";
  const size_t d = text.find(documents), q = text.find(question);
  auto fail = [&](const std::string& why) {
    return invalid("option '" + option + "': " + why + " (the template is '" + text + "')");
  };
  if (d == std::string::npos) throw fail("no {documents} place");
  if (q == std::string::npos) throw fail("no {question} place");
  if (text.find(documents, d + 1) != std::string::npos) throw fail("{documents} twice");
  if (text.find(question, q + 1) != std::string::npos) throw fail("{question} twice");
  if (q < d) throw fail("{question} before {documents}: the documents must come first");
  PromptTemplate t;
  t.before_documents = text.substr(0, d);
  t.before_question = text.substr(d + documents.size(), q - d - documents.size());
  t.after_question = text.substr(q + question.size());
  return t;
}

CagOptions parse_cag_options(const hearth::sdk::Options& options, const std::string& config_dir) {
  CagOptions o;
  std::filesystem::path base = options.get_string("base_dir", "");
  if (base.is_relative() && !config_dir.empty()) base = std::filesystem::path(config_dir) / base;
  auto from_base = [&](const std::string& path) {
    return std::filesystem::path(path).is_absolute() || base.empty() || path.empty()
               ? path
               : (base / path).lexically_normal().string();
  };
  o.cache_dir = from_base(options.get_string("cache_dir", ""));
  const std::string on_stale = options.get_string("on_stale", "rebuild");
  if (on_stale == "rebuild") {
    o.on_stale = OnStale::rebuild;
  } else if (on_stale == "refuse") {
    o.on_stale = OnStale::refuse;
  } else {
    throw invalid("option 'on_stale' must be \"rebuild\" or \"refuse\", not '" + on_stale + "'");
  }
  const std::string default_template = options.get_string("template", kDefaultTemplate);
  const PromptTemplate fallback = parse_template(default_template, "template");
  o.prompt = fallback;
  o.query_tokens = static_cast<int32_t>(options.get_int("query_tokens", -1, 1, 1 << 24));
  o.chunk_tokens = static_cast<int32_t>(options.get_int("chunk_tokens", 256, 1, 4096));

  for (const auto& [key, value] : options.entries()) {
    const size_t dot = key.rfind('.');
    if (dot == std::string::npos) continue;  // a plain option, or unknown: checked below
    const std::string name = key.substr(0, dot), field = key.substr(dot + 1);
    if (field != "documents" && field != "template") continue;
    if (!valid_set_name(name)) {
      throw invalid("option '" + key +
                    "': a knowledge set's name is 1 to 64 letters, digits, "
                    "'_' or '-'");
    }
    auto set = std::find_if(o.sets.begin(), o.sets.end(),
                            [&](const KnowledgeSetConfig& s) { return s.name == name; });
    if (set == o.sets.end()) {
      o.sets.push_back({name, {}, fallback});
      set = o.sets.end() - 1;
    }
    if (field == "template") {
      set->prompt = parse_template(options.require_string(key), key);
    } else {
      set->sources.clear();
      for (const std::string& source : split_list(options.require_string(key))) {
        set->sources.push_back(from_base(source));
      }
    }
  }
  for (const KnowledgeSetConfig& set : o.sets) {
    if (!options.has(set.name + ".documents")) {
      throw invalid("knowledge set '" + set.name + "' has a template but no '" + set.name +
                    ".documents'");
    }
    if (set.sources.empty()) {
      throw invalid("option '" + set.name + ".documents' lists no file or folder");
    }
  }
  options.check_all_used();
  return o;
}

}  // namespace cag
