// The narrow public APIs that tools use beside the Engine (a model file's description, its
// tokenizer alone, plugin probing), through engine/include/hearth only, checked against what
// a loaded Engine reports.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/model_file.h"
#include "hearth/plugin_probe.h"
#include "hearth/tokenizer.h"
#include "test_paths.h"

using namespace hearth;

namespace {

const std::string kVocabularyOnly =
    test::source_path("tests/data/tokenizer/ggml-vocab-llama-spm.gguf");

std::unique_ptr<Engine> load_model() {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.context_size = 512;
  return Engine::load(o);
}

std::string fixture_dir() { return test::binary_path("tests/plugins"); }

}  // namespace

TEST_CASE("a model file is described from its header as the engine loads it", "[public_api]") {
  const ModelFileInfo file = inspect_model_file(test::model_path());
  const auto engine = load_model();
  const ModelInfo& loaded = engine->model_info();
  REQUIRE(file.model);
  CHECK(file.model_error.empty());
  CHECK(file.model->architecture == loaded.architecture);
  CHECK(file.model->name == loaded.name);
  CHECK(file.model->vocab_size == loaded.vocab_size);
  CHECK(file.model->layers == loaded.layers);
  CHECK(file.model->dim == loaded.dim);
  CHECK(file.model->heads == loaded.heads);
  CHECK(file.model->kv_heads == loaded.kv_heads);
  CHECK(file.model->head_dim == loaded.head_dim);
  CHECK(file.model->ffn_dim == loaded.ffn_dim);
  CHECK(file.model->context_train == loaded.context_train);

  CHECK(file.path == test::model_path());
  CHECK(file.gguf_version == 3);
  CHECK(file.data_offset % file.alignment == 0);
  auto entry = std::find_if(file.metadata.begin(), file.metadata.end(),
                            [](const auto& m) { return m.key == "general.architecture"; });
  REQUIRE(entry != file.metadata.end());
  CHECK(entry->value == "\"llama\"");
  auto tensor = std::find_if(file.tensors.begin(), file.tensors.end(),
                             [](const auto& t) { return t.name == "blk.4.ffn_up.weight"; });
  REQUIRE(tensor != file.tensors.end());
  CHECK(tensor->shape == std::vector<int64_t>{loaded.dim, loaded.ffn_dim});
  CHECK(tensor->bytes > 0);
}

TEST_CASE("a vocabulary-only file is described, with why it holds no model", "[public_api]") {
  const ModelFileInfo file = inspect_model_file(kVocabularyOnly);
  CHECK(file.tensors.empty());
  CHECK_FALSE(file.metadata.empty());
  CHECK_FALSE(file.model);
  CHECK(file.model_error.find("ggml-vocab-llama-spm.gguf") != std::string::npos);
  CHECK_THROWS_AS(inspect_model_file(test::source_path("no-such-model.gguf")), Error);
}

TEST_CASE("a model file's tokenizer alone tokenizes as the engine does", "[public_api]") {
  const auto tokenizer = ModelTokenizer::load(test::model_path());
  const auto engine = load_model();
  const std::string text = "Once upon a time, Lily saw a big dog.";
  const auto ids = tokenizer.tokenize(text, true, false);
  CHECK(ids == engine->tokenize(text, true, false));
  CHECK(tokenizer.detokenize(ids) == engine->detokenize(ids));
  CHECK(tokenizer.token_piece(ids[1]) == engine->token_piece(ids[1]));
  CHECK(tokenizer.bos_token() == engine->bos_token());
  CHECK(tokenizer.vocab_size() == engine->model_info().vocab_size);
  CHECK(tokenizer.wants_bos());
  CHECK(tokenizer.tokenize("<s>", false, true) == std::vector<int32_t>{tokenizer.bos_token()});
  CHECK(tokenizer.eos_token() >= 0);

  const auto vocabulary_only = ModelTokenizer::load(kVocabularyOnly);
  CHECK(vocabulary_only.vocab_size() > 0);
}

TEST_CASE("plugin libraries are found by name and probed without being created",
          "[public_api][plugins]") {
  const std::vector<std::string> dirs = plugin_search_directories({fixture_dir()});
  REQUIRE_FALSE(dirs.empty());
  CHECK(dirs.front() == fixture_dir());
  const std::string greedy = find_plugin_library("test_greedy", dirs);
  CHECK(greedy == fixture_dir() + "/hearth-test_greedy.so");
  CHECK(find_plugin_library("no_such_plugin", dirs).empty());
  const auto listed = list_plugin_libraries({fixture_dir()});
  CHECK(std::find(listed.begin(), listed.end(), greedy) != listed.end());

  const PluginLibraryInfo stepwise = probe_plugin_library(greedy);
  CHECK(stepwise.path == greedy);
  CHECK(stepwise.name == "test_greedy");
  CHECK(stepwise.version == "1.0");
  CHECK(stepwise.kind == "decoding");
  CHECK(stepwise.abi_major == 1);
  CHECK(stepwise.step_wise);

  const PluginLibraryInfo whole_request =
      probe_plugin_library(find_plugin_library("test_greedy_v1_1", dirs));
  CHECK(whole_request.abi_minor == 1);
  CHECK_FALSE(whole_request.step_wise);
  CHECK(probe_plugin_library(find_plugin_library("test_prefix", dirs)).kind == "knowledge");

  CHECK_THROWS_WITH(probe_plugin_library(find_plugin_library("test_wrong_major", dirs)),
                    Catch::Contains("hearth-test_wrong_major.so: ABI major 2 != 1"));
  CHECK_THROWS_WITH(probe_plugin_library(find_plugin_library("test_no_entry", dirs)),
                    Catch::Contains("no hearth_plugin_entry entry point"));
}
