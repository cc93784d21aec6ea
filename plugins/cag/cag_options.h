// The options of the cag plugin: named knowledge sets, each a list of documents and a prompt
// template, where their caches are kept, and what a stale cache file means.
//
//   [plugins.options]
//   "handbook.documents" = ["docs/handbook", "docs/faq.md"]   # files, or folders of .txt/.md
//   "handbook.template" = "..."   # optional, else `template`, else the default below
//   template = "{documents}\n\nQuestion: {question}\nAnswer:"
//   cache_dir = "/var/cache/hearth/cag"   # optional: without it nothing is persisted
//   on_stale = "rebuild"                  # or "refuse"
//   base_dir = "/srv/hearth"              # optional: what relative paths start from (default:
//                                         # the configuration file's folder)
//   query_tokens = 512                    # context a prefix leaves for a question and answer
//                                         # (default: a quarter of the context, at most 512)
//   chunk_tokens = 256                    # tokens per forward pass while prefilling
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/plugin.hpp"

namespace cag {

enum class OnStale { rebuild, refuse };

// A prompt template split at its two places: the knowledge prefix is
// before_documents + documents + before_question; a query appends question + after_question.
struct PromptTemplate {
  std::string before_documents, before_question, after_question;
};

inline constexpr const char* kDefaultTemplate = "{documents}\n\nQuestion: {question}\nAnswer:";

struct KnowledgeSetConfig {
  std::string name;                  // letters, digits, '_' and '-', at most 64
  std::vector<std::string> sources;  // files or folders, as configured (resolved against base_dir)
  PromptTemplate prompt;
};

struct CagOptions {
  std::vector<KnowledgeSetConfig> sets;  // in the order their keys first appear
  PromptTemplate prompt;                 // the plugin-wide template (documents given directly)
  // Context a prefix must leave for a question and its answer; -1: a quarter of the context,
  // at most 512.
  int32_t query_tokens = -1;
  int32_t chunk_tokens = 256;  // tokens per forward pass while a prefix is prefilled
  std::string cache_dir;       // empty: caches live in memory only
  OnStale on_stale = OnStale::rebuild;
};

// Splits a template at "{documents}" and "{question}", each exactly once, in that order.
// Throws an error naming `option` when it is not so.
PromptTemplate parse_template(const std::string& text, const std::string& option);

// Reads and checks every option; unknown keys, bad set names, a set without documents and
// a bad template are refused, naming the option. Relative document paths and cache_dir start
// from base_dir, which itself starts from `config_dir` (the configuration file's folder).
CagOptions parse_cag_options(const hearth::sdk::Options& options,
                             const std::string& config_dir = "");

}  // namespace cag
