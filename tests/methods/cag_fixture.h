// What the cag tests share: a scratch folder of documents, an engine with the cag plugin
// loaded from the build tree, and probes of a set's prefix.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hearth/engine.h"
#include "test_paths.h"

namespace hearth::test::cag {

namespace fs = std::filesystem;

using OptionList = std::vector<std::pair<std::string, std::string>>;

// A fresh folder under the temporary directory, removed with everything in it.
struct Folder {
  Folder();
  ~Folder();
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  void write(const std::string& name, const std::string& text) const;
  fs::path path;
};

inline constexpr const char* kDocA =
    "Lily had a red ball. She played with it in the park every day.";
inline constexpr const char* kDocB = "Tom was her friend. He had a big dog named Max.";
inline constexpr const char* kTemplate = "{documents}\nQuestion: {question}\nAnswer:";

// An engine with the cag plugin and one set, "stories", of every document in `kb` under
// kTemplate; `extra` options are appended.
std::unique_ptr<Engine> load(const Folder& kb, OptionList extra = {},
                             const std::string& model = model_path(), EngineOptions base = {});

GenerationOptions greedy(int n);

// The continuation logits of one token after the set's prefix.
std::vector<float> after_prefix(Engine& engine);

// What knowledge_build("stories") throws ("" when it builds).
std::string build_error(Engine& engine);

// The folder's entries, sorted.
std::vector<fs::path> files_in(const fs::path& folder);

}  // namespace hearth::test::cag
