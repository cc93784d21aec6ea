// hearth oae run|report: measure a method against its baseline on a replayed workload (the
// oae metrics plugin records both), and turn run files into a report.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "cli/bandwidth.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/compute_probe.h"
#include "cli/oae_html_report.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/text.h"
#include "hearth/workload.h"

namespace hearth::cli {
namespace {

constexpr const char* kUsage =
    "usage: hearth oae <run|report> [options]\n"
    "\n"
    "  run      replay a workload (requests with arrival times) against a method and its\n"
    "           baseline, and write a run file for each and the report comparing them\n"
    "  report   turn run files into DIR/report.json and DIR/report.html\n"
    "\n"
    "Run 'hearth oae <action> --help' for an action's options.\n";

constexpr const char* kKnowledgeSet = "workload";
// The cag plugin's default prompt template, which the baseline spells out in every prompt.
constexpr const char* kBeforeQuestion = "\n\nQuestion: ";
constexpr const char* kAfterQuestion = "\nAnswer:";

// What the machine can do, measured once for both variants (0 = not measured).
struct Probes {
  double bandwidth = 0, flops = 0, int8_ops = 0;
};

struct RunFlags {
  EngineOptions engine;
  std::string workload, out, energy = "auto";
  bool probe = true;
  float cpu_watts = 10;
};

std::string documents_text(const Workload& w) {
  std::string text;
  for (size_t i = 0; i < w.documents.size(); ++i) {
    text += (i ? "\n\n" : "") +
            read_text_file(w.documents[i], "workload document", settings::max_prompt_file_bytes);
  }
  return text;
}

EngineOptions variant_engine(const RunFlags& flags, const WorkloadVariant& v,
                             const std::string& baseline_label, const Probes& probes) {
  EngineOptions o = flags.engine;
  PluginConfig oae;
  oae.name = "oae";
  oae.options = {{"label", v.label},
                 {"energy", flags.energy},
                 {"cpu_watts_per_core", std::to_string(flags.cpu_watts)}};
  if (!baseline_label.empty()) oae.options.push_back({"baseline_label", baseline_label});
  if (probes.bandwidth > 0) {
    oae.options.push_back({"bandwidth_gbps", std::to_string(probes.bandwidth / 1e9)});
  }
  if (probes.flops > 0) oae.options.push_back({"peak_gflops", std::to_string(probes.flops / 1e9)});
  if (probes.int8_ops > 0) {
    oae.options.push_back({"peak_int8_gops", std::to_string(probes.int8_ops / 1e9)});
  }
  // First, so that the one-time work of the plugins after it is measured.
  o.plugins.insert(o.plugins.begin(), std::move(oae));
  apply_retrofit(v.kv_heads, o);
  if (v.beams > 0) {
    PluginConfig beam;
    beam.name = "trie_beam";
    beam.options = {{"num_beams", std::to_string(v.beams)}};
    if (v.unshared_kv) beam.options.push_back({"share_kv", "false"});
    o.plugins.push_back(std::move(beam));
  }
  if (v.knowledge == "cache") {
    PluginConfig cag;
    cag.name = "cag";
    o.plugins.push_back(std::move(cag));
  }
  return o;
}

// Replays the workload's requests at their arrival times; returns how many failed.
int replay(Engine& engine, const Workload& w, const WorkloadVariant& v,
           const std::string& documents) {
  std::vector<Request> requests;
  const auto start = std::chrono::steady_clock::now();
  for (const WorkloadRequest& r : w.requests) {
    std::this_thread::sleep_until(start + std::chrono::duration<double>(r.at));
    GenerationOptions g;
    g.max_tokens = r.max_tokens > 0 ? r.max_tokens : w.max_tokens;
    g.sampling.temperature = 0;
    g.ignore_eos = true;  // both variants make the same number of tokens
    std::string prompt = r.prompt;
    if (v.knowledge == "cache") {
      g.knowledge_prefix = kKnowledgeSet;
      prompt = engine.knowledge_compose(kKnowledgeSet, r.prompt);
    } else if (v.knowledge == "prompt") {
      prompt = documents + kBeforeQuestion + r.prompt + kAfterQuestion;
    }
    requests.push_back(engine.submit(prompt, g));
  }
  int failed = 0;
  for (Request& r : requests) {
    try {
      r.wait();
    } catch (const Error& e) {
      ++failed;
      std::cerr << "hearth oae run: a request of '" << v.label << "' failed: " << e.what() << "\n";
    }
  }
  return failed;
}

// Runs one variant; returns its run file's path and adds its failed requests to `failed`.
std::string run_variant(const RunFlags& flags, const Workload& w, const WorkloadVariant& v,
                        const std::string& baseline_label, const Probes& probes,
                        int& failed_total) {
  std::cerr << "hearth oae run: " << v.label << ": loading\n";
  auto engine = Engine::load(variant_engine(flags, v, baseline_label, probes));
  const std::string documents = v.knowledge.empty() ? "" : documents_text(w);
  if (v.knowledge == "cache") {
    const KnowledgeBuildStats built = engine->knowledge_build(kKnowledgeSet, {documents});
    std::fprintf(stderr, "hearth oae run: %s: knowledge preloaded, %lld tokens in %.2f s\n",
                 v.label.c_str(), static_cast<long long>(built.forwarded_tokens), built.seconds);
  }
  std::cerr << "hearth oae run: " << v.label << ": " << w.requests.size() << " requests\n";
  const int failed = replay(*engine, w, v, documents);
  const std::string path = (std::filesystem::path(flags.out) / (v.label + ".json")).string();
  engine->metrics_report(path, "oae");
  std::ofstream prom((std::filesystem::path(flags.out) / (v.label + ".prom")).string());
  prom << engine->metrics_prometheus();
  failed_total += failed;
  return path;
}

constexpr int kSomeRequestsFailed = 3;

// Runs `body` in a child process and returns its exit status. Each variant runs in a process
// of its own: a fresh engine, and a peak RSS (which the kernel keeps per process) that is the
// variant's alone, not the probes' or the other variant's. Called before any thread starts.
int in_child_process(const std::string& label, const std::function<int()>& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("cannot start a process for '" + label + "': " + std::strerror(errno));
  if (pid == 0) {
    int code = 1;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hearth oae run: %s: error: %s\n", label.c_str(), e.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("lost the process of '" + label + "': " + std::strerror(errno));
  }
  if (WIFSIGNALED(status)) {
    throw Error("the run of '" + label + "' was ended by signal " +
                std::to_string(WTERMSIG(status)));
  }
  return WEXITSTATUS(status);
}

int run_action(int argc, char** argv) {
  RunFlags flags;
  ArgParser parser("hearth oae run -m MODEL --workload FILE --out DIR [options]",
                   "Replays the workload's requests at their arrival times, first against its "
                   "[baseline], then against its [method], each in a fresh engine with the oae "
                   "metrics plugin, and writes DIR/<label>.json (run files), DIR/<label>.prom "
                   "(Prometheus text) and DIR/report.json and DIR/report.html.");
  add_engine_options(parser, flags.engine);
  parser.option({"--workload"}, "FILE", "workload TOML file (requests, method, baseline)",
                &flags.workload);
  parser.option({"--out"}, "DIR", "where run files and the report go", &flags.out);
  parser.option({"--energy"}, "SOURCE",
                "auto (energy counters when readable, else the estimate) or estimate",
                &flags.energy);
  parser.option({"--cpu-watts"}, "W", "the estimate's power per busy core (default 10)",
                &flags.cpu_watts);
  bool no_probe = false;
  parser.flag({"--no-probe"}, "skip measuring memory bandwidth and peak compute (no roofline)",
              &no_probe);
  if (!parser.parse(argc, argv)) return 0;
  if (flags.workload.empty()) throw Error("no workload: give --workload FILE");
  if (flags.out.empty()) throw Error("no output folder: give --out DIR");
  if (flags.engine.model_path.empty()) throw Error("no model: give -m FILE");
  const Workload w = load_workload(flags.workload);
  std::filesystem::create_directories(flags.out);
  Probes probes;
  if (!no_probe) {
    const int threads = flags.engine.threads > 0
                            ? flags.engine.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    probes.bandwidth = measure_read_bandwidth(threads);
    probes.flops = measure_peak_flops(threads);
    probes.int8_ops = measure_peak_int8_ops(threads);
    std::fprintf(stderr,
                 "hearth oae run: memory read %.1f GB/s, peak f32 %.0f GFLOP/s, int8 %.0f GOP/s\n",
                 probes.bandwidth / 1e9, probes.flops / 1e9, probes.int8_ops / 1e9);
  }
  bool some_failed = false;
  std::vector<std::string> run_files;
  for (const auto& [variant, baseline_label] :
       {std::pair<const WorkloadVariant*, std::string>{&w.baseline, ""},
        {&w.method, w.baseline.label}}) {
    const int code = in_child_process(variant->label, [&] {
      int failed = 0;
      run_variant(flags, w, *variant, baseline_label, probes, failed);
      return failed ? kSomeRequestsFailed : 0;
    });
    if (code != 0 && code != kSomeRequestsFailed) {
      throw Error("the run of '" + variant->label + "' did not complete (see above)");
    }
    some_failed |= code == kSomeRequestsFailed;
    run_files.push_back((std::filesystem::path(flags.out) / (variant->label + ".json")).string());
  }
  write_oae_report(flags.out, {run_files[1], run_files[0]});
  std::cout << (std::filesystem::path(flags.out) / "report.html").string() << "\n";
  // The report is written either way: the run files count the failures.
  if (some_failed) throw Error("some requests failed (see above; the run files count them)");
  return 0;
}

int report_action(int argc, char** argv) {
  std::string out;
  std::vector<std::string> runs;
  ArgParser parser("hearth oae report --out DIR RUN.json [RUN.json ...]",
                   "Writes DIR/report.json (the runs and each method's comparison with the run "
                   "its baseline_label names: per-request cost and break-even) and one "
                   "self-contained DIR/report.html.");
  parser.option({"--out"}, "DIR", "where the report goes", &out);
  parser.positional("RUN.json", &runs, 64);
  if (!parser.parse(argc, argv)) return 0;
  if (out.empty()) throw Error("no output folder: give --out DIR");
  write_oae_report(out, runs);
  std::cout << (std::filesystem::path(out) / "report.html").string() << "\n";
  return 0;
}

}  // namespace

int oae_command(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "-h") || !std::strcmp(argv[0], "--help")) {
    std::fputs(kUsage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  const std::string action = argv[0];
  if (action == "run") return run_action(argc - 1, argv + 1);
  if (action == "report") return report_action(argc - 1, argv + 1);
  throw Error("hearth oae: unknown action '" + action + "' (run or report)");
}

}  // namespace hearth::cli
