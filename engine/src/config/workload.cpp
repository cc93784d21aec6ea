#include "hearth/workload.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>

#include "config/table_reader.h"
#include "config/toml_limits.h"
#include "hearth/error.h"
#include "hearth/text.h"

namespace hearth {
namespace {

using config::resolve;
using config::section;
using config::TableReader;
using config::where;

constexpr std::string_view kKnowledgeModes[] = {"", "cache", "prompt"};
constexpr settings::IntRange kBeams{0, 64};
constexpr settings::IntRange kMaxTokens{1, int64_t{1} << 20};

WorkloadVariant read_variant(const std::string& path, const toml::table& root, const char* name) {
  if (!root.get(name)) throw Error(path + ": the workload needs a [" + std::string(name) + "]");
  WorkloadVariant v;
  TableReader t(path, name, section(path, root, name));
  t.string("label", v.label);
  t.choice("knowledge", v.knowledge, kKnowledgeModes);
  t.integer("beams", v.beams, kBeams);
  t.boolean("unshared_kv", v.unshared_kv);
  t.string("kv_heads", v.kv_heads);
  if (v.label.empty() || v.label.size() > 64 ||
      !std::all_of(v.label.begin(), v.label.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.';
      })) {
    throw Error(path + ": [" + name +
                "] 'label' must be 1 to 64 letters, digits, '_', '-' or '.' (it names files)");
  }
  if (v.unshared_kv && v.beams == 0) {
    throw Error(path + ": [" + name + "] 'unshared_kv' needs 'beams'");
  }
  return v;
}

std::vector<WorkloadRequest> read_requests(const std::string& path, const toml::table& root) {
  std::vector<WorkloadRequest> out;
  const toml::node* node = root.get("requests");
  if (!node) throw Error(path + ": the workload has no [[requests]]");
  const toml::array* array = node->as_array();
  if (!array || array->empty()) {
    throw Error(where(path, node->source()) + ": 'requests' must be a non-empty [[requests]] list");
  }
  if (array->size() > kMaxWorkloadRequests) {
    throw Error(where(path, node->source()) + ": more than " +
                std::to_string(kMaxWorkloadRequests) + " requests");
  }
  for (const toml::node& item : *array) {
    const toml::table* table = item.as_table();
    if (!table) throw Error(where(path, item.source()) + ": each of 'requests' must be a table");
    WorkloadRequest r;
    TableReader t(path, "requests", *table);
    double at = 0;
    t.number("at", at, settings::RealRange{0, kMaxWorkloadSeconds});
    r.at = at;
    if (!t.get("prompt")) throw Error(where(path, item.source()) + ": [[requests]] needs 'prompt'");
    t.string("prompt", r.prompt);
    t.integer("max_tokens", r.max_tokens, kMaxTokens);
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const WorkloadRequest& a, const WorkloadRequest& b) { return a.at < b.at; });
  return out;
}

}  // namespace

Workload parse_workload(std::string_view text, const std::string& path) {
  if (text.size() > kMaxDeployFileBytes) {
    throw Error(path + ": larger than " + std::to_string(kMaxDeployFileBytes >> 20) + " MiB");
  }
  const toml::table root = config::parse_toml(text, path);
  Workload w;
  {
    TableReader top(path, "workload", root);
    top.string("name", w.name);
    top.strings("documents", w.documents);
    top.integer("max_tokens", w.max_tokens, kMaxTokens);
    top.get("method");
    top.get("baseline");
    top.get("requests");
  }
  for (std::string& d : w.documents) d = resolve(path, d);
  w.method = read_variant(path, root, "method");
  w.baseline = read_variant(path, root, "baseline");
  if (w.method.label == w.baseline.label) {
    throw Error(path + ": [method] and [baseline] need different labels");
  }
  for (const WorkloadVariant* v : {&w.method, &w.baseline}) {
    if (!v->knowledge.empty() && w.documents.empty()) {
      throw Error(path + ": knowledge = \"" + v->knowledge + "\" needs 'documents'");
    }
  }
  w.requests = read_requests(path, root);
  return w;
}

Workload load_workload(const std::string& path) {
  return parse_workload(read_text_file(path, "workload file", kMaxDeployFileBytes), path);
}

}  // namespace hearth
