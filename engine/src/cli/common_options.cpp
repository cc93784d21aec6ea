#include "cli/common_options.h"

#include <cstdio>

#include "cli/progress.h"
#include "hearth/error.h"
#include "hearth/settings.h"
#include "hearth/text.h"

namespace hearth::cli {

void add_engine_options(ArgParser& p, EngineOptions& o) {
  p.option({"-m", "--model"}, "FILE", "model file (GGUF)", &o.model_path);
  p.option({"-t", "--threads"}, "N", "worker threads, 0 = physical cores (default; at most 1024)",
           &o.threads, settings::threads);
  p.option({"-c", "--ctx-size"}, "N", "context size, 0 = max(model's, 4096) (default)",
           &o.context_size, settings::context_size);
  p.option({"-b", "--batch-size"}, "N", "prompt tokens per forward pass (default 512)",
           &o.max_batch_tokens, settings::batch_size);
  p.option({"--device"}, "DEV", "cpu (default), cuda, cuda:N, hip:N, or auto (a GPU if present)",
           &o.device);
  p.option({"--kernels"}, "ISA", "force CPU kernels: reference, avx2, avx512", &o.cpu_kernels,
           settings::cpu_kernels);
  p.option({"--kv-type"}, "TYPE", "KV cache elements: f16 (default) or f32", &o.kv_cache_type,
           settings::kv_cache_types);
}

void add_retrofit_option(ArgParser& p, std::string& kv_heads) {
  p.option({"--kv-heads"}, "N",
           "convert to N KV heads per layer at load (N, 1/N or one per layer: the gqa_retrofit "
           "plugin)",
           &kv_heads);
}

void apply_retrofit(const std::string& kv_heads, EngineOptions& options) {
  if (kv_heads.empty()) return;
  PluginConfig plugin;
  plugin.name = "gqa_retrofit";
  plugin.options = {{"kv_heads", kv_heads}};
  options.plugins.push_back(std::move(plugin));
}

void add_sampling_options(ArgParser& p, GenerationOptions& o) {
  SamplingOptions& s = o.sampling;
  p.option({"-n", "--n-predict"}, "N", "tokens to generate (default -1: until end of text)",
           &o.max_tokens, settings::max_tokens);
  p.option({"--temp"}, "T", "temperature, 0 = greedy (default 0.8)", &s.temperature,
           settings::temperature);
  p.option({"--top-k"}, "K", "keep the K most likely tokens, 0 = off (default 40)", &s.top_k,
           settings::top_k);
  p.option({"--top-p"}, "P", "nucleus sampling, 1 = off (default 0.95)", &s.top_p, settings::top_p);
  p.option({"--min-p"}, "P", "drop tokens below P x the top probability (default 0.05)", &s.min_p,
           settings::min_p);
  p.option({"--repeat-penalty"}, "R", "penalise recent tokens, 1 = off (default 1.0)",
           &s.repeat_penalty, settings::repeat_penalty);
  p.option({"--repeat-last-n"}, "N", "tokens the penalty looks back over (default 64)",
           &s.repeat_last_n, settings::repeat_last_n);
  p.option({"-s", "--seed"}, "S", "random seed (default: random, printed)", &s.seed);
  p.flag({"--ignore-eos"}, "keep generating after end of text", &o.ignore_eos);
}

void add_prompt_options(ArgParser& p, PromptOptions& o) {
  p.option({"-p", "--prompt"}, "TEXT", "prompt text", &o.text);
  p.option({"-f", "--file"}, "FILE", "read the prompt from a file", &o.file);
  p.flag({"--no-bos"}, "do not add the BOS token to the prompt", &o.no_bos);
}

std::string read_prompt(const PromptOptions& o, bool allow_none) {
  if (!o.file.empty() && !o.text.empty()) throw Error("give either -p or -f, not both");
  if (!o.file.empty()) {
    return read_text_file(o.file, "prompt file (-f)", settings::max_prompt_file_bytes);
  }
  if (o.text.empty() && !allow_none) throw Error("no prompt: give -p TEXT or -f FILE");
  return o.text;
}

namespace {

void print_generation_stats(const ModelInfo& info, const GenerationResult& r) {
  const GenerationStats& s = r.stats;
  std::fprintf(stderr,
               "\n\nhearth: %s on %s\n"
               "hearth: load %.2f s | prompt %d tokens in %.3f s (%.1f tok/s) | "
               "generated %d tokens in %.3f s (%.1f tok/s) | stop: %s | seed %llu\n",
               printable(info.name).c_str(), info.device_description.c_str(), s.load_seconds,
               s.prompt_tokens, s.prompt_seconds, s.prompt_tokens_per_second(), s.generated_tokens,
               s.generate_seconds, s.generated_tokens_per_second(), stop_reason_name(r.stop_reason),
               static_cast<unsigned long long>(r.seed));
}

}  // namespace

void generate_to_stdout(EngineOptions engine_options, const std::string& prompt,
                        const GenerationOptions& generation) {
  engine_options.on_load_progress = terminal_progress("loading model");
  auto engine = Engine::load(engine_options);
  stream_to_stdout(*engine, prompt, generation);
}

GenerationResult stream_to_stdout(Engine& engine, const std::string& prompt,
                                  const GenerationOptions& generation) {
  auto result = engine.generate(prompt, generation, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  print_generation_stats(engine.model_info(), result);
  return result;
}

}  // namespace hearth::cli
