#include "cag_fixture.h"

#include <algorithm>
#include <fstream>
#include <random>

#include "hearth/error.h"
#include "test_paths.h"

namespace hearth::test::cag {

Folder::Folder()
    : path(fs::temp_directory_path() /
           ("hearth-cag-kb-" + std::to_string(std::random_device{}()))) {
  fs::create_directories(path);
}

Folder::~Folder() {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

void Folder::write(const std::string& name, const std::string& text) const {
  std::ofstream(path / name, std::ios::binary) << text;
}

std::unique_ptr<Engine> load(const Folder& kb, OptionList extra, const std::string& model,
                             EngineOptions base) {
  EngineOptions o = std::move(base);
  o.model_path = model;
  o.threads = 1;
  if (o.context_size == 0) o.context_size = 512;
  PluginConfig cag;
  cag.name = "cag";
  cag.path = binary_path("lib/hearth/plugins/hearth-cag.so");
  cag.options = {{"stories.documents", kb.path.string()},
                 {"stories.template", kTemplate},
                 {"query_tokens", "64"}};
  for (auto& e : extra) cag.options.push_back(std::move(e));
  o.plugins.insert(o.plugins.begin(), cag);
  return Engine::load(o);
}

GenerationOptions greedy(int n) {
  GenerationOptions g;
  g.max_tokens = n;
  g.sampling.temperature = 0;
  g.strategy = "sampling";
  return g;
}

std::vector<float> after_prefix(Engine& engine) {
  const SequenceId s = engine.knowledge_attach("stories");
  BatchToken row{engine.tokenize(" Lily", false, false).front(), engine.sequence_length(s), s,
                 true};
  std::vector<float> logits;
  engine.decode({&row, 1}, logits);
  engine.drop_sequence(s);
  return logits;
}

std::string build_error(Engine& engine) {
  try {
    engine.knowledge_build("stories", {});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(folder)) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hearth::test::cag
