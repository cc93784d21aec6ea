// The C API through libhearth.so as an embedding program sees it (only hearth.h): params
// versioning, statuses and messages, the buffer convention, streaming, polling, cancelling,
// beam search, chat rendering, freeing an engine under live requests.
#include <catch2/catch.hpp>
#include <climits>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "hearth/hearth.h"
#include "test_paths.h"

namespace {

const std::string kModel = hearth::test::model_path();

hearth_engine* load(const char* plugins = nullptr, const char* chat_template = nullptr) {
  hearth_engine_params p = hearth_engine_default_params();
  p.model_path = kModel.c_str();
  p.threads = 1;
  p.context_size = 512;
  const std::string dirs = hearth::test::binary_path("lib/hearth/plugins");
  p.plugin_dirs = dirs.c_str();
  p.plugins = plugins;
  p.chat_template_path = chat_template;
  hearth_engine* e = nullptr;
  REQUIRE(hearth_engine_load(&p, &e) == HEARTH_OK);
  return e;
}

hearth_generation_params greedy(int32_t max_tokens) {
  hearth_generation_params g = hearth_generation_default_params();
  g.temperature = 0;
  g.max_tokens = max_tokens;
  return g;
}

bool collect(const char* text, size_t length, void* user_data) {
  static_cast<std::string*>(user_data)->append(text, length);
  return true;
}

}  // namespace

TEST_CASE("loading: statuses and messages name what is wrong", "[capi]") {
  CHECK(hearth_api_version() == HEARTH_C_API_VERSION);
  hearth_engine* e = reinterpret_cast<hearth_engine*>(1);
  hearth_engine_params p = hearth_engine_default_params();
  CHECK(p.struct_size == sizeof(hearth_engine_params));
  CHECK(hearth_engine_load(&p, &e) == HEARTH_INVALID_ARGUMENT);
  CHECK(e == nullptr);
  CHECK(std::string(hearth_last_error()).find("model_path") != std::string::npos);
  p.model_path = "/no/such/model.gguf";
  CHECK(hearth_engine_load(&p, &e) == HEARTH_INVALID_ARGUMENT);
  CHECK(std::string(hearth_last_error()).find("/no/such/model.gguf") != std::string::npos);
  p.struct_size = 3;
  CHECK(hearth_engine_load(&p, &e) == HEARTH_INVALID_ARGUMENT);
  CHECK(std::string(hearth_last_error()).find("struct_size") != std::string::npos);
  CHECK(hearth_engine_load(&p, nullptr) == HEARTH_INVALID_ARGUMENT);
  // A device that is not a device name, and a GPU this machine lacks (or this build: no GPU
  // backend), are refused by name.
  p = hearth_engine_default_params();
  p.model_path = kModel.c_str();
  p.device = "tpu:0";
  CHECK(hearth_engine_load(&p, &e) == HEARTH_INVALID_ARGUMENT);
  CHECK(std::string(hearth_last_error()).find("\"tpu:0\" is not a device") != std::string::npos);
  p.device = "cuda:7";
  if (hearth_engine_load(&p, &e) == HEARTH_OK) {
    hearth_engine_free(e);  // a machine with eight CUDA devices
  } else {
    CHECK(std::string(hearth_last_error()).find("cuda:7") != std::string::npos);
  }
  p.device = "auto";
  REQUIRE(hearth_engine_load(&p, &e) == HEARTH_OK);
  hearth_engine_free(e);
  // The message is the calling thread's own.
  std::string other;
  std::thread([&] { other = hearth_last_error(); }).join();
  CHECK(other.empty());
}

TEST_CASE("an older, shorter params struct leaves the newer fields at their defaults", "[capi]") {
  hearth_engine_params p = hearth_engine_default_params();
  p.model_path = kModel.c_str();
  p.kv_cache_bytes = 12345;  // beyond the struct_size below: must not be read
  p.struct_size = offsetof(hearth_engine_params, kv_cache_bytes);
  hearth_engine* e = nullptr;
  REQUIRE(hearth_engine_load(&p, &e) == HEARTH_OK);
  hearth_generation_params g = greedy(5);
  g.length_penalty = -99;  // beyond the struct_size: ignored
  g.struct_size = offsetof(hearth_generation_params, num_beams);
  hearth_request* r = nullptr;
  REQUIRE(hearth_submit(e, "Once", &g, nullptr, nullptr, &r) == HEARTH_OK);
  CHECK(hearth_request_wait(r, -1) == HEARTH_OK);
  CHECK(hearth_request_generated_tokens(r) == 5);
  hearth_request_free(r);
  hearth_engine_free(e);
}

TEST_CASE("tokenize, detokenize and chat rendering follow the buffer convention", "[capi]") {
  hearth_engine* e = load();
  const std::string text = "Once upon a time";
  const int32_t needed = hearth_tokenize(e, text.data(), text.size(), true, false, nullptr, 0);
  REQUIRE(needed < 0);
  std::vector<int32_t> tokens(static_cast<size_t>(-needed));
  CHECK(hearth_tokenize(e, text.data(), text.size(), true, false, tokens.data(), -needed) ==
        -needed);
  CHECK(tokens[0] == hearth_engine_bos_token(e));
  char small[4];
  const int32_t bytes = hearth_detokenize(e, tokens.data() + 1, -needed - 1, small, 4);
  REQUIRE(bytes < 0);
  std::string out(static_cast<size_t>(-bytes) + 1, '\0');
  CHECK(hearth_detokenize(e, tokens.data() + 1, -needed - 1, out.data(), -bytes + 1) == -bytes);
  out.resize(static_cast<size_t>(-bytes));
  CHECK(out.find("Once upon a time") != std::string::npos);
  CHECK(hearth_tokenize(nullptr, "x", 1, false, false, nullptr, 0) == INT32_MIN);
  CHECK(hearth_render_chat(e, "[]", true, nullptr, 0) == INT32_MIN);
  CHECK(std::string(hearth_last_error()).find("chat template") != std::string::npos);
  hearth_engine_free(e);

  const std::string chat_template =
      hearth::test::source_path("tests/data/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  e = load(nullptr, chat_template.c_str());
  const char* messages = R"([{"role":"user","content":"Hello there"}])";
  const int32_t size = hearth_render_chat(e, messages, true, nullptr, 0);
  REQUIRE(size < 0);
  std::string rendered(static_cast<size_t>(-size) + 1, '\0');
  CHECK(hearth_render_chat(e, messages, true, rendered.data(), -size + 1) == -size);
  CHECK(rendered.find("<|im_start|>user\nHello there<|im_end|>") != std::string::npos);
  CHECK(hearth_render_chat(e, "{not json", true, nullptr, 0) == INT32_MIN);
  CHECK(std::string(hearth_last_error()).find("not JSON") != std::string::npos);
  hearth_engine_free(e);
}

TEST_CASE("requests stream, poll, cancel and fail through the C API", "[capi]") {
  hearth_engine* e = load();
  hearth_generation_params g = greedy(40);
  std::string streamed;
  hearth_request* a = nullptr;
  REQUIRE(hearth_submit(e, "Once upon a time", &g, collect, &streamed, &a) == HEARTH_OK);
  REQUIRE(hearth_request_wait(a, -1) == HEARTH_OK);
  CHECK(hearth_request_get_state(a) == HEARTH_REQUEST_FINISHED);
  CHECK(streamed == hearth_request_text(a));
  CHECK(hearth_request_generated_tokens(a) == 40);
  CHECK(hearth_request_stop_reason(a) == HEARTH_STOP_MAX_TOKENS);
  CHECK(hearth_request_prompt_tokens(a) > 0);

  // Polled without a callback: the same greedy text, read in small pieces.
  hearth_request* b = nullptr;
  REQUIRE(hearth_submit(e, "Once upon a time", &g, nullptr, nullptr, &b) == HEARTH_OK);
  std::string polled;
  char piece[3];
  while (true) {
    const bool done = hearth_request_wait(b, 0) == HEARTH_OK;
    size_t n;
    while ((n = hearth_request_take_text(b, piece, sizeof piece)) > 0) polled.append(piece, n);
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(polled == streamed);
  hearth_request_free(b);

  // Seeds reproduce.
  hearth_generation_params s = g;
  s.temperature = 1.0f;
  s.seed = 99;
  std::string first, second;
  for (std::string* out : {&first, &second}) {
    hearth_request* r = nullptr;
    REQUIRE(hearth_submit(e, "Once", &s, collect, out, &r) == HEARTH_OK);
    REQUIRE(hearth_request_wait(r, -1) == HEARTH_OK);
    CHECK(hearth_request_seed(r) == 99);
    hearth_request_free(r);
  }
  CHECK(first == second);

  // A callback returning false cancels; so does hearth_request_cancel.
  hearth_generation_params lng = greedy(400);
  lng.ignore_eos = true;
  hearth_request* c = nullptr;
  auto refuse_after_one = [](const char*, size_t, void*) { return false; };
  REQUIRE(hearth_submit(e, "Once", &lng, refuse_after_one, nullptr, &c) == HEARTH_OK);
  REQUIRE(hearth_request_wait(c, -1) == HEARTH_OK);
  CHECK(hearth_request_stop_reason(c) == HEARTH_STOP_CANCELLED);
  CHECK(hearth_request_generated_tokens(c) < 400);
  hearth_request_free(c);

  // Bad options are refused at submit, naming the setting.
  hearth_generation_params bad = greedy(4);
  bad.top_p = 2;
  hearth_request* d = nullptr;
  CHECK(hearth_submit(e, "Once", &bad, nullptr, nullptr, &d) == HEARTH_INVALID_ARGUMENT);
  CHECK(d == nullptr);
  CHECK(std::string(hearth_last_error()).find("top_p") != std::string::npos);
  bad = greedy(4);
  bad.num_beams = 2;  // no beam plugin loaded
  CHECK(hearth_submit(e, "Once", &bad, nullptr, nullptr, &d) != HEARTH_OK);
  CHECK(std::string(hearth_last_error()).find("trie_beam") != std::string::npos);

  // Freeing the engine under a live request cancels it; the handle stays readable.
  hearth_request* live = nullptr;
  REQUIRE(hearth_submit(e, "Once", &lng, nullptr, nullptr, &live) == HEARTH_OK);
  hearth_request_free(a);
  hearth_engine_free(e);
  CHECK(hearth_request_wait(live, 0) == HEARTH_OK);
  CHECK(hearth_request_get_state(live) != HEARTH_REQUEST_RUNNING);
  hearth_request_free(live);
}

TEST_CASE("log-probabilities through the C API", "[capi]") {
  hearth_engine* e = load();
  hearth_generation_params g = greedy(8);
  g.logprobs = 3;
  hearth_request* r = nullptr;
  REQUIRE(hearth_submit(e, "Once upon a time", &g, nullptr, nullptr, &r) == HEARTH_OK);
  REQUIRE(hearth_request_wait(r, -1) == HEARTH_OK);
  REQUIRE(hearth_request_logprob_count(r) == hearth_request_generated_tokens(r));
  for (int32_t i = 0; i < hearth_request_logprob_count(r); ++i) {
    INFO("token " << i);
    int32_t token = -1, best = -1, second = -1;
    const float logprob = hearth_request_logprob(r, i, &token);
    CHECK(token >= 0);
    CHECK(logprob <= 0);
    REQUIRE(hearth_request_top_logprob_count(r, i) == 3);
    CHECK(hearth_request_top_logprob(r, i, 0, &best) == logprob);  // greedy: the likeliest
    CHECK(best == token);
    CHECK(hearth_request_top_logprob(r, i, 1, &second) <= logprob);
    CHECK(second != token);
  }
  int32_t none = 0;
  CHECK(hearth_request_logprob(r, 99, &none) == 0);
  CHECK(none == -1);
  CHECK(hearth_request_top_logprob(r, 0, 3, &none) == 0);
  CHECK(none == -1);
  hearth_request_free(r);
  // Without the field (an older struct) or at -1: none.
  g.struct_size = offsetof(hearth_generation_params, logprobs);
  REQUIRE(hearth_submit(e, "Once upon a time", &g, nullptr, nullptr, &r) == HEARTH_OK);
  REQUIRE(hearth_request_wait(r, -1) == HEARTH_OK);
  CHECK(hearth_request_logprob_count(r) == 0);
  hearth_request_free(r);
  g = greedy(4);
  g.logprobs = 21;
  CHECK(hearth_submit(e, "Once", &g, nullptr, nullptr, &r) != HEARTH_OK);
  CHECK(std::string(hearth_last_error()).find("logprobs") != std::string::npos);
  hearth_engine_free(e);
}

TEST_CASE("beam search through the C API returns scored hypotheses", "[capi]") {
  hearth_engine* e = load("trie_beam");
  hearth_generation_params g = greedy(10);
  g.num_beams = 4;
  g.num_return_sequences = 3;
  hearth_request* r = nullptr;
  REQUIRE(hearth_submit(e, "Once upon a time", &g, nullptr, nullptr, &r) == HEARTH_OK);
  REQUIRE(hearth_request_wait(r, -1) == HEARTH_OK);
  REQUIRE(hearth_request_hypothesis_count(r) == 3);
  CHECK(std::string(hearth_request_hypothesis_text(r, 0)) == hearth_request_text(r));
  CHECK(hearth_request_hypothesis_score(r, 0) >= hearth_request_hypothesis_score(r, 1));
  CHECK(hearth_request_hypothesis_score(r, 1) >= hearth_request_hypothesis_score(r, 2));
  CHECK(std::string(hearth_request_hypothesis_text(r, 7)).empty());
  hearth_request_free(r);
  hearth_engine_free(e);
}
