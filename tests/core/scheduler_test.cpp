// Requests through the scheduler: concurrent clients get exactly their solo results, cancelled
// requests free their cache at once, a small KV budget queues requests instead of failing
// them, and decoding plugins share passes with plain requests.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"

using namespace hearth;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Engine> load(int threads, size_t kv_cache_bytes = 0,
                             std::vector<PluginConfig> plugins = {}) {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = threads;
  o.context_size = 512;
  o.kv_cache_bytes = kv_cache_bytes;
  o.plugins = std::move(plugins);
  return Engine::load(o);
}

PluginConfig fixture_plugin(const std::string& name,
                            std::vector<std::pair<std::string, std::string>> options = {}) {
  PluginConfig p;
  p.name = name;
  p.path = test::binary_path("tests/plugins/hearth-" + name + ".so");
  p.options = std::move(options);
  return p;
}

GenerationOptions greedy(int32_t tokens) {
  GenerationOptions g;
  g.max_tokens = tokens;
  g.sampling.temperature = 0;
  return g;
}

// Seeded sampling through the built-in chain, even when a decoding plugin is loaded.
GenerationOptions seeded_sampling(int32_t tokens, uint64_t seed) {
  GenerationOptions g;
  g.strategy = "sampling";
  g.max_tokens = tokens;
  g.sampling.seed = seed;
  return g;
}

struct Job {
  std::string prompt;
  GenerationOptions options;
};

// 16 requests that differ in prompt, length and sampling settings; every random one seeded.
std::vector<Job> sixteen_jobs() {
  const char* prompts[] = {"",         "Once upon a time", "Tom", "The cat sat",
                           "Lily was", "One day, a big",   "Sue", "The sun"};
  std::vector<Job> jobs;
  for (int i = 0; i < 16; ++i) {
    Job job;
    job.prompt = prompts[i % 8];
    GenerationOptions& g = job.options;
    g.max_tokens = 8 + 11 * i;
    if (i % 3 == 0) {
      g.sampling.temperature = 0;
    } else {
      g.sampling.temperature = 0.6f + 0.1f * (i % 5);
      g.sampling.top_k = i % 2 ? 0 : 20;
      g.sampling.top_p = i % 4 == 1 ? 0.9f : 1.0f;
      g.sampling.min_p = i % 4 == 2 ? 0.1f : 0.0f;
      g.sampling.repeat_penalty = i % 5 == 0 ? 1.1f : 1.0f;
      g.sampling.seed = 1000 + i;
    }
    if (i == 5) g.stop = {" the"};
    jobs.push_back(job);
  }
  return jobs;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("16 requests from 4 threads at staggered times give exactly their solo results",
          "[scheduler]") {
  for (int threads : {1, 2}) {
    INFO("threads " << threads);
    auto engine = load(threads);
    const auto jobs = sixteen_jobs();
    std::vector<GenerationResult> solo;
    for (const Job& job : jobs) solo.push_back(engine->generate(job.prompt, job.options));

    std::vector<GenerationResult> together(jobs.size());
    std::vector<std::string> streamed(jobs.size());
    std::vector<std::thread> clients;
    std::atomic<int> failures{0};
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        try {
          std::vector<std::pair<size_t, Request>> mine;
          for (size_t i = c; i < jobs.size(); i += 4) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2 * (i % 5)));
            RequestCallbacks callbacks;
            callbacks.on_text = [&, i](std::string_view text) {
              streamed[i] += text;  // one scheduler thread: no two callbacks at once
              return true;
            };
            mine.emplace_back(i, engine->submit(jobs[i].prompt, jobs[i].options, callbacks));
          }
          for (auto& [i, request] : mine) together[i] = request.wait();
        } catch (...) {
          ++failures;
        }
      });
    }
    for (auto& t : clients) t.join();
    REQUIRE(failures == 0);
    for (size_t i = 0; i < jobs.size(); ++i) {
      INFO("request " << i);
      CHECK(together[i].tokens == solo[i].tokens);
      CHECK(together[i].text == solo[i].text);
      CHECK(streamed[i] == solo[i].text);
      CHECK(together[i].stop_reason == solo[i].stop_reason);
      if (jobs[i].options.sampling.seed) CHECK(together[i].seed == solo[i].seed);
    }
    CHECK(solo[5].stop_reason == StopReason::stop_string);
    // They really shared passes (the solo runs above never do).
    CHECK(engine->scheduler_stats().most_requests >= 4);
    CHECK(engine->scheduler_stats().requests_ended == 2 * jobs.size());
    const KvCacheStats stats = engine->kv_cache_stats();
    CHECK(stats.used_blocks == 0);
    CHECK(stats.sequences == 0);
  }
}

TEST_CASE("a request cancelled mid-stream frees its blocks at once; the others go on",
          "[scheduler]") {
  auto engine = load(1);
  GenerationOptions endless;
  endless.max_tokens = -1;
  endless.ignore_eos = true;
  endless.sampling.temperature = 0;
  GenerationOptions short_greedy = endless;
  short_greedy.max_tokens = 60;
  short_greedy.ignore_eos = false;
  const GenerationResult expected = engine->generate("Tom", short_greedy);

  Request doomed = engine->submit("Once upon a time", endless);
  Request other = engine->submit("Tom", short_greedy);
  std::string seen;
  for (int i = 0; i < 2000 && seen.size() < 20; ++i) {
    seen += doomed.take_text();
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(seen.size() >= 20);
  CHECK(doomed.state() == RequestState::running);
  doomed.cancel();
  GenerationResult cancelled = doomed.wait();
  CHECK(doomed.state() == RequestState::cancelled);
  CHECK(cancelled.stop_reason == StopReason::cancelled);
  CHECK(!cancelled.tokens.empty());
  CHECK(cancelled.text.substr(0, seen.size()) == seen);
  CHECK(other.wait().tokens == expected.tokens);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
  CHECK(engine->kv_cache_stats().sequences == 0);

  // A queued request cancelled before it starts never runs; cancelling twice does nothing.
  // An unbounded request reserves the rest of the context, so one behind it must queue.
  Request blocker = engine->submit("Once upon a time", endless);
  Request never = engine->submit("Sue", short_greedy);
  while (blocker.state() != RequestState::running) std::this_thread::sleep_for(1ms);
  CHECK(never.state() == RequestState::queued);
  never.cancel();
  never.cancel();
  GenerationResult nothing = never.wait();
  CHECK(never.state() == RequestState::cancelled);
  CHECK(nothing.tokens.empty());
  blocker.cancel();
  blocker.wait();
  // A text callback returning false cancels too.
  RequestCallbacks stop_early;
  int pieces = 0;
  stop_early.on_text = [&](std::string_view) { return ++pieces < 3; };
  GenerationResult stopped = engine->submit("Tom", endless, stop_early).wait();
  CHECK(stopped.stop_reason == StopReason::cancelled);
  CHECK(pieces == 3);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
}

TEST_CASE("a small KV budget queues requests until they fit; one that never fits fails alone",
          "[scheduler][kv]") {
  const size_t block_bytes = load(1)->kv_cache_stats().block_bytes;
  // 12 blocks of 16 positions; each request below reserves 5 (a few prompt tokens + 70).
  auto engine = load(1, 12 * block_bytes);
  REQUIRE(engine->kv_cache_stats().total_blocks == 12);
  GenerationOptions g;
  g.max_tokens = 70;
  g.ignore_eos = true;
  g.sampling.temperature = 0;
  const char* prompts[] = {"Tom", "The cat", "Lily", "One day", "Sue", "The sun"};
  std::vector<GenerationResult> solo;
  for (const char* p : prompts) solo.push_back(engine->generate(p, g));

  std::mutex mutex;
  std::set<size_t> active;
  size_t most_active = 0;
  std::vector<Request> requests;
  for (size_t i = 0; i < std::size(prompts); ++i) {
    RequestCallbacks callbacks;
    callbacks.on_text = [&, i](std::string_view) {
      std::lock_guard<std::mutex> lock(mutex);
      active.insert(i);
      most_active = std::max(most_active, active.size());
      return true;
    };
    callbacks.on_done = [&, i](RequestState) {
      std::lock_guard<std::mutex> lock(mutex);
      active.erase(i);
    };
    requests.push_back(engine->submit(prompts[i], g, callbacks));
  }
  GenerationOptions huge = g;
  huge.max_tokens = 400;  // 26 blocks: more than the whole cache
  Request too_big = engine->submit("Tom", huge);
  for (size_t i = 0; i < requests.size(); ++i) {
    INFO("request " << i);
    CHECK(requests[i].wait().tokens == solo[i].tokens);
  }
  CHECK(most_active == 2);
  try {
    too_big.wait();
    FAIL("a request larger than the cache was not refused");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::out_of_memory);
    CHECK_THAT(e.what(), Catch::Contains("needs 26 KV cache blocks") &&
                             Catch::Contains("the whole cache holds 12"));
  }
  CHECK(too_big.state() == RequestState::failed);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
  // A sequence held outside requests leaves too little room: refused with the numbers, since
  // no running request would ever free it.
  SequenceId held = engine->create_sequence();
  std::vector<int32_t> filler(150, engine->bos_token());
  engine->prefill(held, filler);
  CHECK_THROWS_WITH(engine->generate("Tom", g), Catch::Contains("only 2 are free"));
  engine->drop_sequence(held);
  CHECK(engine->generate("Tom", g).tokens == solo[0].tokens);
}

TEST_CASE("a step-wise decoding plugin shares passes with plain requests", "[scheduler][plugins]") {
  auto engine = load(1, 0, {fixture_plugin("test_greedy")});
  const std::string expected =
      read_text(test::source_path("examples/models/expected-greedy-from-bos.txt"));
  const GenerationOptions plugin_greedy = greedy(200);
  const GenerationOptions sampled = seeded_sampling(120, 7);
  const GenerationResult solo_sampled = engine->generate("Tom", sampled);

  Request a = engine->submit("", plugin_greedy);
  Request b = engine->submit("Tom", sampled);
  Request c = engine->submit("", plugin_greedy);
  CHECK(a.wait().text == expected);
  CHECK(b.wait().tokens == solo_sampled.tokens);
  CHECK(c.wait().text == expected);
  CHECK(engine->plugins()[0].leaked_sequences == 0);

  // Cancelled mid-way: the plugin's branches go with it.
  Request d = engine->submit("", plugin_greedy);
  Request e = engine->submit("Tom", sampled);
  while (e.state() != RequestState::finished) std::this_thread::sleep_for(1ms);
  d.cancel();
  d.wait();
  CHECK(engine->kv_cache_stats().used_blocks == 0);
  CHECK(engine->kv_cache_stats().sequences == 0);
}

TEST_CASE("a step-wise decoding plugin cannot run forward passes itself", "[scheduler][plugins]") {
  auto engine = load(1, 0, {fixture_plugin("test_greedy", {{"try_forward", "true"}})});
  GenerationOptions g;
  g.max_tokens = 20;
  auto result = engine->generate("Tom", g);
  CHECK(result.tokens.size() == 20);
}

TEST_CASE("a decoding plugin built before step-wise decoding still runs, alone",
          "[scheduler][plugins]") {
  auto engine = load(1, 0, {fixture_plugin("test_greedy_v1_1")});
  const GenerationOptions g = greedy(200);
  const std::string expected =
      read_text(test::source_path("examples/models/expected-greedy-from-bos.txt"));
  const GenerationOptions sampled = seeded_sampling(50, 3);
  const GenerationResult solo_sampled = engine->generate("Tom", sampled);
  Request a = engine->submit("", g);
  Request b = engine->submit("Tom", sampled);
  CHECK(a.wait().text == expected);
  CHECK(b.wait().tokens == solo_sampled.tokens);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
}

TEST_CASE("request callbacks cannot reach into the scheduler", "[scheduler]") {
  auto engine = load(1);
  GenerationOptions g;
  g.max_tokens = 5;
  std::string refused;
  RequestCallbacks callbacks;
  callbacks.on_text = [&](std::string_view) {
    try {
      engine->create_sequence();
    } catch (const Error& e) {
      refused = e.what();
    }
    return true;
  };
  engine->submit("Tom", g, callbacks).wait();
  CHECK_THAT(refused, Catch::Contains("cannot be called from a request callback"));
}

TEST_CASE("sequence calls from another thread interleave with running requests", "[scheduler]") {
  auto engine = load(1);
  GenerationOptions endless;
  endless.max_tokens = -1;
  endless.ignore_eos = true;
  endless.sampling.temperature = 0;
  Request background = engine->submit("Once upon a time", endless);
  // On a loaded machine the scheduler thread may not have run yet: the calls below must
  // interleave with a request that is already decoding.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (background.state() == RequestState::queued &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(background.state() == RequestState::running);
  const std::vector<int32_t> prompt = engine->tokenize("Tom", true, false);
  std::vector<float> reference;
  {
    SequenceId s = engine->create_sequence();
    reference = engine->prefill(s, prompt);
    engine->drop_sequence(s);
  }
  for (int i = 0; i < 50; ++i) {
    SequenceId s = engine->create_sequence();
    CHECK(engine->prefill(s, prompt) == reference);
    engine->drop_sequence(s);
  }
  CHECK(background.state() == RequestState::running);
  background.cancel();
  CHECK(background.wait().tokens.size() > 0);
  CHECK(engine->kv_cache_stats().sequences == 0);
}
