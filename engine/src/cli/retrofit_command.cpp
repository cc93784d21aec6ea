// hearth retrofit: a multi-head-attention model converted to grouped-query attention (the
// gqa_retrofit plugin) and written as a new GGUF file, so the conversion is paid once and the
// result loads without the plugin.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/progress.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/text.h"

namespace hearth::cli {

int retrofit_command(int argc, char** argv) {
  std::string model, out, kv_heads, method = "mean", keep, calibration;
  int32_t calibration_tokens = 256;
  ArgParser parser(
      "hearth retrofit -m IN.gguf --out OUT.gguf --kv-heads N [--method mean|aligned "
      "--calibration TEXT [--calibration-tokens N]]",
      "Converts a model's attention to N KV heads per layer (N, or 1/N of each "
      "layer's) and writes the result as a new model file that loads without the "
      "plugin.");
  parser.option({"-m", "--model"}, "FILE", "the model to convert (GGUF)", &model);
  parser.option({"--out"}, "FILE", "the converted model to write", &out);
  parser.option({"--kv-heads"}, "N", "KV heads per layer after the conversion (N or 1/N)",
                &kv_heads);
  parser.option({"--method"}, "NAME",
                "how a group's heads become one: mean (default) or aligned (turned towards each "
                "other on calibration text first)",
                &method);
  parser.option({"--calibration"}, "FILE", "aligned: the calibration text", &calibration);
  parser.option({"--calibration-tokens"}, "N", "aligned: tokens of it to run (default 256)",
                &calibration_tokens);
  parser.option({"--keep-layers"}, "LIST", "layers left as they are (e.g. 0,21)", &keep);
  if (!parser.parse(argc, argv)) return 0;
  if (model.empty()) throw Error("no model: give -m IN.gguf");
  if (out.empty()) throw Error("no output: give --out OUT.gguf");
  if (kv_heads.empty()) throw Error("no target: give --kv-heads N");
  EngineOptions options;
  options.model_path = model;
  // No requests: the KV cache only has to exist; the context bounds the calibration run.
  options.context_size = calibration.empty() ? 16 : std::max(16, calibration_tokens);
  options.keep_transformed_weights = true;
  options.on_load_progress = terminal_progress("converting");
  PluginConfig plugin;
  plugin.name = "gqa_retrofit";
  plugin.options = {{"kv_heads", kv_heads}, {"method", method}};
  if (!keep.empty()) plugin.options.emplace_back("keep_layers", keep);
  if (!calibration.empty()) plugin.options.emplace_back("calibration", calibration);
  if (parser.given("--calibration-tokens")) {
    plugin.options.emplace_back("calibration_tokens", std::to_string(calibration_tokens));
  }
  options.plugins = {plugin};
  const auto started = std::chrono::steady_clock::now();
  auto engine = Engine::load(options);
  const double loaded =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  engine->write_model(out);
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const ModelInfo& info = engine->model_info();
  std::printf("%s: %d KV heads per layer (%s), written in %.2f s (loading and converting %.2f s)\n",
              printable(out).c_str(), info.kv_heads, method.c_str(), total, loaded);
  return 0;
}

}  // namespace hearth::cli
