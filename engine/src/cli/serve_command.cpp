// `hearth serve`: the OpenAI-compatible server, from a deployment file or from flags alone.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/progress.h"
#include "hearth/deploy_config.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/server.h"
#include "hearth/settings.h"
#include "hearth/text.h"

namespace hearth::cli {
namespace {

// SIGINT and SIGTERM are blocked in every thread (the engine's and the server's inherit the
// mask) and taken here, by the main thread, with sigwait.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

bool has_plugin_kind(const Engine& engine, const std::string& kind) {
  for (const PluginInfo& p : engine.plugins()) {
    if (p.kind == kind) return true;
  }
  return false;
}

bool configures_plugin(const EngineOptions& options, const std::string& name) {
  for (const PluginConfig& p : options.plugins) {
    if (p.name == name) return true;
  }
  return false;
}

}  // namespace

int serve_command(int argc, char** argv) {
  std::string config_path;
  DeployConfig flags;
  ServerOptions& server = flags.server;
  int32_t max_body_kib = 0, shutdown_grace = 0;
  ArgParser parser(
      "hearth serve (--config deploy.toml | -m MODEL) [options]",
      "Serves the model over an OpenAI-compatible HTTP API: /v1/completions, "
      "/v1/chat/completions (streaming with \"stream\": true), /v1/models, /health, /metrics. "
      "Options override the deployment file's [server], [model] and [runtime] tables. "
      "SIGTERM or SIGINT stops it gracefully.");
  parser.option({"--config"}, "FILE", "deployment TOML file", &config_path);
  add_engine_options(parser, flags.engine);
  parser.option({"--chat-template"}, "FILE", "chat template instead of the model's own",
                &flags.engine.chat_template_path);
  parser.option({"--listen"}, "HOST:PORT",
                "address to listen on (default 127.0.0.1:8080; :PORT = every interface)",
                &server.listen);
  parser.option({"--api-key-file"}, "FILE",
                "require one of these keys (one per line) as 'Authorization: Bearer KEY'",
                &server.api_key_file);
  parser.option({"--alias"}, "NAME", "the model's id in the API (default: the file's name)",
                &server.model_alias);
  parser.option({"--parallel"}, "N", "requests generating at once (default 16)",
                &server.max_concurrent_requests, settings::max_concurrent_requests);
  parser.option({"--queue"}, "N", "requests waiting beyond those; more get 429 (default 64)",
                &server.max_queued_requests, settings::max_queued_requests);
  parser.option({"--io-threads"}, "N", "threads serving sockets (default 2)", &server.io_threads,
                settings::io_threads);
  parser.option({"--max-body-kib"}, "N", "largest request body in KiB (default 1024)",
                &max_body_kib, {1, 1 << 20});
  parser.option({"--shutdown-grace"}, "SECONDS",
                "on SIGTERM, time requests in flight get to finish (default 10)", &shutdown_grace,
                {0, 86400});
  if (!parser.parse(argc, argv)) return 0;

  DeployConfig config = config_path.empty() ? flags : load_deploy_config(config_path);
  if (!config_path.empty()) {
    // Flags given on the command line win over the file.
    const EngineOptions& e = flags.engine;
    if (parser.given("-m")) config.engine.model_path = e.model_path;
    if (parser.given("-t")) config.engine.threads = e.threads;
    if (parser.given("-c")) config.engine.context_size = e.context_size;
    if (parser.given("-b")) config.engine.max_batch_tokens = e.max_batch_tokens;
    if (parser.given("--kernels")) config.engine.cpu_kernels = e.cpu_kernels;
    if (parser.given("--kv-type")) config.engine.kv_cache_type = e.kv_cache_type;
    if (parser.given("--chat-template")) config.engine.chat_template_path = e.chat_template_path;
    ServerOptions& s = config.server;
    if (parser.given("--listen")) s.listen = server.listen;
    if (parser.given("--api-key-file")) s.api_key_file = server.api_key_file;
    if (parser.given("--alias")) s.model_alias = server.model_alias;
    if (parser.given("--parallel")) s.max_concurrent_requests = server.max_concurrent_requests;
    if (parser.given("--queue")) s.max_queued_requests = server.max_queued_requests;
    if (parser.given("--io-threads")) s.io_threads = server.io_threads;
  }
  if (parser.given("--max-body-kib")) config.server.max_body_bytes = size_t(max_body_kib) << 10;
  if (parser.given("--shutdown-grace")) config.server.shutdown_grace = shutdown_grace;
  if (config.engine.model_path.empty()) throw Error("no model: give -m MODEL or --config FILE");
  // Beam search is there for requests that ask ("beams") whenever the plugin is installed.
  if (!configures_plugin(config.engine, "trie_beam")) {
    PluginConfig beams;
    beams.name = "trie_beam";
    beams.required = false;
    config.engine.plugins.push_back(beams);
  }

  const sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  config.engine.on_load_progress = terminal_progress("loading model");
  config.engine.on_progress = terminal_task_progress();
  auto engine = Engine::load(config.engine);
  for (const std::string& warning : engine->plugin_warnings()) {
    if (warning.find("trie_beam") == std::string::npos) {
      std::fprintf(stderr, "hearth serve: warning: %s\n", printable(warning).c_str());
    }
  }
  if (has_plugin_kind(*engine, "knowledge")) {
    // Every configured knowledge set is ready (loaded from its cache, or built) before the
    // server says it is.
    for (const std::string& set : engine->knowledge_sets()) {
      const KnowledgeBuildStats built = engine->knowledge_build(set, {});
      std::fprintf(stderr, "hearth serve: knowledge set '%s' %s in %.2f s\n",
                   printable(set).c_str(),
                   built.forwarded_tokens ? "built" : "loaded from its cache", built.seconds);
    }
  }

  // What the knowledge sets' prefixes hold, so that the stop line tells requests' blocks apart.
  const int32_t knowledge_blocks = engine->kv_cache_stats().used_blocks;
  auto running = Server::start(*engine, config.server, config.generation);
  std::fprintf(stderr, "hearth serve: model '%s' on %s, listening on %s (port %u)\n",
               printable(running->model_id()).c_str(),
               engine->model_info().device_description.c_str(), config.server.listen.c_str(),
               static_cast<unsigned>(running->port()));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "hearth serve: %s: finishing requests in flight (at most %.0f s)\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", config.server.shutdown_grace);
  running->shutdown(
      std::chrono::milliseconds(static_cast<int64_t>(config.server.shutdown_grace * 1000)));
  const ServerStats stats = running->stats();
  const KvCacheStats kv = engine->kv_cache_stats();
  std::fprintf(stderr,
               "hearth serve: stopped: %llu HTTP requests, %llu completion tokens, %d KV blocks "
               "live in requests, %d in knowledge sets\n",
               static_cast<unsigned long long>(stats.requests),
               static_cast<unsigned long long>(stats.completion_tokens),
               kv.used_blocks - knowledge_blocks, knowledge_blocks);
  return 0;
}

}  // namespace hearth::cli
