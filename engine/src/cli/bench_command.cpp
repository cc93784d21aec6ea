// `hearth bench`: prefill and decode throughput measured the way llama-bench does (pp: one
// batch of N prompt tokens; tg: N single-token decode steps), at several context depths and
// thread counts, repeated, median and spread reported; optionally the machine's read
// bandwidth and decode as a percentage of the roofline it implies.
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/bandwidth.h"
#include "cli/bench_parallel.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "hearth/error.h"
#include "hearth/model_file.h"
#include "hearth/settings.h"
#include "hearth/text.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A comma-separated list of counts, each within `range`.
std::vector<int32_t> parse_list(const std::string& option, const std::string& text,
                                settings::IntRange range) {
  std::vector<int32_t> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
      throw Error("option " + option + ": '" + text + "' is not a list of counts (e.g. 0,512)");
    }
    if (std::string why = settings::check(value, range); !why.empty()) {
      throw Error("option " + option + ": " + why);
    }
    values.push_back(static_cast<int32_t>(value));
  }
  if (values.empty()) throw Error("option " + option + " needs at least one value");
  return values;
}

// printable() first, so a device or file name shows its control bytes as escapes.
std::string json_string(const std::string& raw) { return json_quote(printable(raw)); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Row {
  int32_t threads;
  std::string test;  // "pp" or "tg"
  int32_t tokens, depth;
  double median, spread;
  double bytes_per_token;  // tg: weights + KV read per token (0 for pp)
  // par (--parallel): concurrent streams, each with `prompt` tokens; median is the aggregate
  // decode rate, prefill the aggregate prefill rate, ttft the slowest first token.
  int32_t streams = 0, prompt = 0;
  double prefill = 0, ttft = 0;
};

// Tokens per second of one run: fork `base` (which holds the depth's context, computed once)
// and either prefill `count` tokens in one batch (pp) or decode them one by one (tg).
double run_once(Engine& engine, const std::vector<int32_t>& tokens, SequenceId base, int32_t count,
                bool decode) {
  const int32_t depth = engine.sequence_length(base);
  SequenceId s = engine.fork_sequence(base);
  std::vector<float> logits;
  auto start = Clock::now();
  if (decode) {
    for (int32_t i = 0; i < count; ++i) {
      BatchToken t{tokens[depth + i], depth + i, s, true};
      engine.decode({&t, 1}, logits);
    }
  } else {
    engine.prefill(s, {tokens.data() + depth, size_t(count)});
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  engine.drop_sequence(s);
  return count / seconds;
}

int32_t trained_context(const std::string& model_path) {
  const ModelFileInfo file = inspect_model_file(model_path);
  if (!file.model) throw Error(file.model_error);
  return file.model->context_train;
}

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

}  // namespace

int bench_command(int argc, char** argv) {
  EngineOptions options;
  std::string prompt_list = "128", generate_list = "128", depth_list = "0", thread_list,
              parallel_list;
  int32_t repetitions = 3;
  bool json = false, bandwidth = false;
  ArgParser parser(
      "hearth bench -m MODEL [-p N] [-n N] [-d DEPTHS] [-t THREADS] [-r N] [--parallel STREAMS] "
      "[--bandwidth] [--json]",
      "Measures prefill (one batch of -p tokens) and decode (-n single-token steps) "
      "throughput after -d tokens of context, for each thread count; each test runs once "
      "to warm up and then -r times, and the median and spread (max - min) are reported. "
      "With --parallel, measures instead the aggregate throughput of that many concurrent "
      "requests through the scheduler (-p prompt tokens and -n new tokens each). "
      "Lists are comma-separated, e.g. -d 0,2000 -t 1,2 --parallel 1,4,16.");
  add_engine_options(parser, options);
  std::string kv_heads;
  add_retrofit_option(parser, kv_heads);
  parser.option({"-p", "--n-prompt"}, "N", "prompt tokens per prefill run (default 128, 0 = skip)",
                &prompt_list);
  parser.option({"-n", "--n-gen"}, "N", "tokens per decode run (default 128, 0 = skip)",
                &generate_list);
  parser.option({"-d", "--depth"}, "DEPTHS", "tokens already in the KV cache (default 0)",
                &depth_list);
  parser.option({"--threads-list"}, "LIST", "thread counts to compare (overrides -t)",
                &thread_list);
  parser.option({"-r", "--repetitions"}, "N", "runs of each test (default 3)", &repetitions,
                settings::IntRange{1, 1000});
  parser.option({"--parallel"}, "STREAMS",
                "concurrent request counts to measure (e.g. 1,4,16); -p and -n give each one's "
                "prompt and new tokens",
                &parallel_list);
  parser.flag({"--bandwidth"}, "measure memory read bandwidth; report decode % of roofline",
              &bandwidth);
  parser.flag({"--json"}, "print one JSON object", &json);
  if (!parser.parse(argc, argv)) return 0;
  if (options.model_path.empty()) throw Error("no model: give -m MODEL");
  apply_retrofit(kv_heads, options);
  // Counts are positions in one sequence: each must fit the largest context there is, and a
  // prefill run is one batch.
  const settings::IntRange counts{0, settings::context_size.max};
  const auto prompts = parse_list("-p", prompt_list, {0, settings::batch_size.max}),
             gens = parse_list("-n", generate_list, counts),
             depths = parse_list("-d", depth_list, counts);
  const auto threads = thread_list.empty()
                           ? std::vector<int32_t>{options.threads}
                           : parse_list("--threads-list", thread_list, settings::threads);
  const auto streams = parallel_list.empty()
                           ? std::vector<int32_t>{}
                           : parse_list("--parallel", parallel_list, {1, settings::batch_size.max});
  if (!streams.empty() && (prompts.size() != 1 || gens.size() != 1 || depths != std::vector{0} ||
                           prompts[0] == 0 || gens[0] == 0)) {
    throw Error("--parallel takes one -p and one -n (both above 0) and no -d");
  }
  const int32_t max_prompt = *std::max_element(prompts.begin(), prompts.end());
  const int32_t max_depth = *std::max_element(depths.begin(), depths.end());
  const int32_t max_gen = *std::max_element(gens.begin(), gens.end());
  const int64_t positions = int64_t{max_depth} + std::max(max_prompt, max_gen);
  options.max_batch_tokens = std::max({options.max_batch_tokens, max_prompt});
  // Checked against the file's header before anything is allocated for the runs.
  const bool fixed_context = options.context_size > 0;
  const int64_t context = fixed_context ? options.context_size
                                        : std::max(trained_context(options.model_path),
                                                   settings::default_context_floor);
  if (positions >= context) {
    throw Error("-d " + std::to_string(max_depth) + " + max(-p " + std::to_string(max_prompt) +
                ", -n " + std::to_string(max_gen) + ") = " + std::to_string(positions) +
                " positions do not fit the context of " + std::to_string(context) +
                (fixed_context ? " (-c)" : " (the model's default; raise it with -c)"));
  }
  // Without -c the cache holds just what the runs use, so peak memory reflects the model.
  if (!fixed_context) options.context_size = static_cast<int32_t>(positions + 16);
  if (!streams.empty()) {
    const int64_t most = *std::max_element(streams.begin(), streams.end());
    // Every stream's prompt in one pass, as llama-batched-bench prefills; one context's cache
    // holds every stream.
    options.max_batch_tokens = static_cast<int32_t>(
        std::clamp<int64_t>(most * max_prompt, options.max_batch_tokens, settings::batch_size.max));
    if (!fixed_context) {
      options.context_size = static_cast<int32_t>(
          std::min<int64_t>(most * (max_prompt + max_gen + 16), settings::context_size.max));
    }
  }
  if (!json) options.on_load_progress = terminal_progress("loading model");

  std::vector<Row> rows;
  ModelInfo info;
  double read_bandwidth = 0;
  double kv_per_position = 0;  // the KV cache's bytes per cached position
  for (int32_t thread_count : threads) {
    EngineOptions o = options;
    o.threads = thread_count;
    auto engine = Engine::load(o);
    info = engine->model_info();
    const auto kv = engine->kv_cache_stats();
    const double kv_bytes_per_position = double(kv.block_bytes) / kv.block_tokens;
    kv_per_position = kv_bytes_per_position;
    // Random token ids: speed does not depend on which tokens are fed.
    std::mt19937 rng(42);
    std::uniform_int_distribution<int32_t> pick(0, info.vocab_size - 1);
    std::vector<int32_t> tokens(max_depth + std::max(max_prompt, max_gen));
    for (auto& t : tokens) t = pick(rng);
    if (!streams.empty()) {
      for (int32_t n : streams) {
        run_parallel(*engine, n, max_prompt, std::min(max_gen, 8), 7);  // warm-up
        std::vector<double> decode_rates, prefill_rates, ttfts;
        for (int r = 0; r < repetitions; ++r) {
          ParallelRun run = run_parallel(*engine, n, max_prompt, max_gen, 1000 + r);
          decode_rates.push_back(run.decode_tok_s);
          prefill_rates.push_back(run.prefill_tok_s);
          ttfts.push_back(run.ttft_max_seconds);
        }
        auto [lo, hi] = std::minmax_element(decode_rates.begin(), decode_rates.end());
        Row row{thread_count, "par", max_gen, 0, median(decode_rates), *hi - *lo, 0};
        row.streams = n;
        row.prompt = max_prompt;
        row.prefill = median(prefill_rates);
        row.ttft = median(ttfts);
        rows.push_back(row);
      }
      continue;
    }
    for (int32_t depth : depths) {
      SequenceId base = engine->create_sequence();
      if (depth > 0) engine->prefill(base, {tokens.data(), size_t(depth)});
      for (bool decode : {false, true}) {
        for (int32_t count : decode ? gens : prompts) {
          if (count == 0) continue;
          run_once(*engine, tokens, base, std::min(count, decode ? 8 : count), decode);
          std::vector<double> rates;
          for (int r = 0; r < repetitions; ++r) {
            rates.push_back(run_once(*engine, tokens, base, count, decode));
          }
          auto [lo, hi] = std::minmax_element(rates.begin(), rates.end());
          double bytes =
              decode ? info.weight_bytes + kv_bytes_per_position * (depth + count / 2.0) : 0;
          rows.push_back(
              {thread_count, decode ? "tg" : "pp", count, depth, median(rates), *hi - *lo, bytes});
        }
      }
      engine->drop_sequence(base);
    }
  }
  const size_t peak_rss = peak_rss_bytes();  // before the probe's own buffer
  if (bandwidth)
    read_bandwidth = measure_read_bandwidth(std::max(1, threads.front() > 0 ? threads.front() : 2));
  auto roofline_pct = [&](const Row& r) {
    return read_bandwidth > 0 && r.bytes_per_token > 0
               ? 100.0 * r.median / (read_bandwidth / r.bytes_per_token)
               : 0.0;
  };
  auto first = [&](const char* test) {
    for (const auto& r : rows) {
      if (r.test == test) return r.median;
    }
    return 0.0;
  };

  if (json) {
    std::printf(
        "{\"model\": %s, \"device\": %s, \"weight_bytes\": %zu, "
        "\"peak_rss_bytes\": %zu, \"bandwidth_gb_s\": %.2f, \"repetitions\": %d, "
        "\"kv_heads\": %d, \"kv_bytes_per_token\": %.0f, "
        "\"prefill_tok_s\": %.3f, \"decode_tok_s\": %.3f, \"results\": [",
        json_string(info.path).c_str(), json_string(info.device_description).c_str(),
        info.weight_bytes, peak_rss, read_bandwidth / 1e9, repetitions, info.kv_heads,
        kv_per_position, first("pp"), first(streams.empty() ? "tg" : "par"));
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      if (r.test == "par") {
        std::printf(
            "%s{\"threads\": %d, \"test\": \"parallel\", \"streams\": %d, \"prompt\": %d, "
            "\"generate\": %d, \"decode_tok_s\": %.3f, \"spread\": %.3f, "
            "\"prefill_tok_s\": %.3f, \"ttft_max_s\": %.4f}",
            i ? ", " : "", r.threads, r.streams, r.prompt, r.tokens, r.median, r.spread, r.prefill,
            r.ttft);
        continue;
      }
      std::printf(
          "%s{\"threads\": %d, \"test\": \"%s%d\", \"depth\": %d, \"tok_s\": %.3f, "
          "\"spread\": %.3f, \"roofline_pct\": %.1f}",
          i ? ", " : "", r.threads, r.test.c_str(), r.tokens, r.depth, r.median, r.spread,
          roofline_pct(r));
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("model:   %s (%s, %.1f MiB of weights)\ndevice:  %s\n", printable(info.path).c_str(),
              printable(info.name).c_str(), info.weight_bytes / 1048576.0,
              info.device_description.c_str());
  std::printf("KV cache: %d KV heads (first layer), %.0f bytes per position\n", info.kv_heads,
              kv_per_position);
  if (bandwidth) std::printf("memory read bandwidth: %.1f GB/s\n", read_bandwidth / 1e9);
  if (!streams.empty()) {
    std::printf("\n%-8s %-8s %-12s %18s %10s %16s %10s\n", "threads", "streams", "test",
                "decode tok/s (all)", "spread", "prefill tok/s", "TTFT max");
    for (const auto& r : rows) {
      std::string threads_text = r.threads > 0 ? std::to_string(r.threads) : "all";
      std::string test = "pp" + std::to_string(r.prompt) + "+tg" + std::to_string(r.tokens);
      std::printf("%-8s %-8d %-12s %18.2f %10.2f %16.2f %8.3f s\n", threads_text.c_str(), r.streams,
                  test.c_str(), r.median, r.spread, r.prefill, r.ttft);
    }
    std::printf("\npeak resident memory: %.1f MiB\n", peak_rss / 1048576.0);
    return 0;
  }
  std::printf("\n%-8s %-8s %8s %14s %10s %10s\n", "threads", "test", "depth", "tok/s (median)",
              "spread", bandwidth ? "roofline" : "");
  for (const auto& r : rows) {
    std::string test = r.test + std::to_string(r.tokens);
    std::string threads_text = r.threads > 0 ? std::to_string(r.threads) : "all";
    std::printf("%-8s %-8s %8d %14.2f %10.2f", threads_text.c_str(), test.c_str(), r.depth,
                r.median, r.spread);
    if (bandwidth && r.test == "tg") std::printf(" %9.0f%%", roofline_pct(r));
    std::printf("\n");
  }
  std::printf("\npeak resident memory: %.1f MiB\n", peak_rss / 1048576.0);
  return 0;
}

}  // namespace hearth::cli
