// hearth serve's HTTP server, in process, over real loopback sockets: every endpoint with and
// without streaming against the engine's own results, malformed and hostile requests, slow
// and vanishing clients, a full queue, API keys and graceful shutdown. After each, the KV
// cache holds no live block.
#include "hearth/server.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "http_client.h"
#include "test_paths.h"

using namespace hearth;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

std::unique_ptr<Engine> load_engine() {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.context_size = 512;
  o.chat_template_path =
      test::source_path("tests/data/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  PluginConfig beams;
  beams.name = "trie_beam";
  beams.path = test::binary_path("lib/hearth/plugins/hearth-trie_beam.so");
  o.plugins.push_back(beams);
  return Engine::load(o);
}

ServerOptions local_options() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  return o;
}

struct Served {
  explicit Served(ServerOptions options = local_options(), GenerationOptions defaults = {})
      : engine(load_engine()), server(Server::start(*engine, options, defaults)) {}
  uint16_t port() const { return server->port(); }
  test::HttpResponse call(const std::string& method, const std::string& target,
                          const std::string& body = "", const std::string& headers = "") {
    test::HttpConnection c(port());
    return c.request(method, target, body, headers);
  }
  // Waits (bounded) until the cache holds no live block: cancellation lands at a step boundary.
  bool cache_empties() {
    for (int i = 0; i < 1000; ++i) {
      if (engine->kv_cache_stats().used_blocks == 0 && server->stats().generating == 0) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Server> server;
};

// The events of a server-sent event stream, [DONE] excluded; `done` tells whether it came.
std::vector<Json> sse_events(const std::string& body, bool* done = nullptr) {
  std::vector<Json> events;
  if (done) *done = false;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    const std::string data = body.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") {
      if (done) *done = true;
    } else {
      events.push_back(Json::parse(data));
    }
  }
  return events;
}

GenerationOptions greedy(int32_t max_tokens) {
  GenerationOptions g;
  g.sampling.temperature = 0;
  g.max_tokens = max_tokens;
  g.strategy = "sampling";
  return g;
}

}  // namespace

TEST_CASE("completions over HTTP equal the engine's own generation, whole and streamed",
          "[server]") {
  Served s;
  const std::string prompt = "Once upon a time";
  const GenerationResult direct = s.engine->generate(prompt, greedy(24));
  const std::string body = Json{
      {"model", "stories260K"},
      {"prompt", prompt},
      {"max_tokens", 24},
      {"temperature", 0}}.dump();

  const test::HttpResponse whole = s.call("POST", "/v1/completions", body);
  REQUIRE(whole.status == 200);
  const Json j = Json::parse(whole.body);
  CHECK(j["object"] == "text_completion");
  CHECK(j["model"] == "stories260K");
  CHECK(j["choices"][0]["text"] == direct.text);
  CHECK(j["choices"][0]["finish_reason"] == "length");
  CHECK(j["usage"]["prompt_tokens"] == s.engine->tokenize(prompt, true, false).size());
  CHECK(j["usage"]["completion_tokens"] == 24);
  CHECK(j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"].get<int>() + 24);

  Json streamed = Json::parse(body);
  streamed["stream"] = true;
  streamed["stream_options"] = {{"include_usage", true}};
  const test::HttpResponse stream = s.call("POST", "/v1/completions", streamed.dump());
  REQUIRE(stream.status == 200);
  CHECK(stream.headers.at("content-type") == "text/event-stream");
  bool done = false;
  const std::vector<Json> events = sse_events(stream.body, &done);
  CHECK(done);
  REQUIRE(events.size() >= 3);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    text += events[i]["choices"][0]["text"].get<std::string>();
  }
  CHECK(text == direct.text);
  CHECK(events[events.size() - 2]["choices"][0]["finish_reason"] == "length");
  CHECK(events.back()["choices"].empty());
  CHECK(events.back()["usage"]["completion_tokens"] == 24);
  CHECK(s.cache_empties());
}

TEST_CASE("chat completions render the model's template, whole and streamed", "[server]") {
  Served s;
  const nlohmann::ordered_json messages = {
      {{"role", "system"}, {"content", "You tell short stories."}},
      {{"role", "user"}, {"content", "Tell me about a cat."}}};
  const std::string rendered = s.engine->render_chat(messages, true);
  const GenerationResult direct =
      s.engine->generate_tokens(s.engine->tokenize(rendered, false, true), greedy(20));

  Json body{{"messages", messages}, {"max_tokens", 20}, {"temperature", 0}};
  const test::HttpResponse whole = s.call("POST", "/v1/chat/completions", body.dump());
  REQUIRE(whole.status == 200);
  const Json j = Json::parse(whole.body);
  CHECK(j["object"] == "chat.completion");
  CHECK(j["choices"][0]["message"]["role"] == "assistant");
  CHECK(j["choices"][0]["message"]["content"] == direct.text);
  CHECK(j["usage"]["prompt_tokens"] == s.engine->tokenize(rendered, false, true).size());

  // Content given as text parts is the same conversation.
  body["messages"][1]["content"] = Json::array(
      {{{"type", "text"}, {"text", "Tell me "}}, {{"type", "text"}, {"text", "about a cat."}}});
  body["stream"] = true;
  const test::HttpResponse stream = s.call("POST", "/v1/chat/completions", body.dump());
  REQUIRE(stream.status == 200);
  bool done = false;
  const std::vector<Json> events = sse_events(stream.body, &done);
  CHECK(done);
  REQUIRE(events.size() >= 2);
  CHECK(events.front()["object"] == "chat.completion.chunk");
  CHECK(events.front()["choices"][0]["delta"]["role"] == "assistant");
  std::string text;
  for (const Json& e : events) {
    const Json& delta = e["choices"][0]["delta"];
    if (delta.contains("content")) text += delta["content"].get<std::string>();
  }
  CHECK(text == direct.text);
  CHECK(events.back()["choices"][0]["finish_reason"] == "length");
}

TEST_CASE("models, health and metrics endpoints", "[server]") {
  Served s;
  test::HttpResponse models = s.call("GET", "/v1/models");
  REQUIRE(models.status == 200);
  const Json list = Json::parse(models.body);
  CHECK(list["object"] == "list");
  REQUIRE(list["data"].size() == 1);
  CHECK(list["data"][0]["id"] == "stories260K");
  CHECK(s.call("GET", "/v1/models/stories260K").status == 200);
  CHECK(s.call("GET", "/v1/models/other").status == 404);
  CHECK(s.call("GET", "/health").status == 200);
  CHECK(s.call("GET", "/health/live").status == 200);

  REQUIRE(s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":5})").status == 200);
  const test::HttpResponse metrics = s.call("GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.headers.at("content-type").starts_with("text/plain; version=0.0.4"));
  CHECK(metrics.body.find("# TYPE hearth_server_http_requests_total counter") != std::string::npos);
  CHECK(metrics.body.find("hearth_server_completion_tokens_total 5\n") != std::string::npos);
  CHECK(metrics.body.find("hearth_kv_cache_used_blocks 0\n") != std::string::npos);
}

TEST_CASE("several requests on one connection, pipelined, are answered in order", "[server]") {
  Served s;
  test::HttpConnection c(s.port());
  c.send_raw(test::http_request("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":3})") +
             test::http_request("GET", "/health") +
             test::http_request("POST", "/v1/completions", R"({"prompt":"The","max_tokens":2})"));
  const test::HttpResponse first = c.read_response();
  const test::HttpResponse second = c.read_response();
  const test::HttpResponse third = c.read_response();
  CHECK(first.status == 200);
  CHECK(Json::parse(first.body)["usage"]["completion_tokens"] == 3);
  CHECK(second.body == R"({"status":"ok"})");
  CHECK(Json::parse(third.body)["usage"]["completion_tokens"] == 2);
}

TEST_CASE("concurrent clients each get the result they get alone", "[server]") {
  Served s;
  const std::vector<std::string> prompts = {"Once upon a time", "The dog", "Lily was", "A big"};
  std::vector<std::string> alone;
  for (const std::string& p : prompts) alone.push_back(s.engine->generate(p, greedy(30)).text);
  std::vector<std::string> served(prompts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < prompts.size(); ++i) {
    clients.emplace_back([&, i] {
      const Json body{
          {"prompt", prompts[i]}, {"max_tokens", 30}, {"temperature", 0}, {"stream", i % 2 == 1}};
      const test::HttpResponse r = s.call("POST", "/v1/completions", body.dump());
      if (i % 2 == 0) {
        served[i] = Json::parse(r.body)["choices"][0]["text"];
      } else {
        for (const Json& e : sse_events(r.body)) served[i] += e["choices"][0]["text"];
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(served == alone);
  CHECK(s.engine->scheduler_stats().most_requests >= 2);
}

TEST_CASE("n choices, stop sequences and seeds", "[server]") {
  Served s;
  const std::string body =
      R"({"prompt":"Once upon a time","max_tokens":12,"n":3,"seed":7,"temperature":1.0})";
  const Json a = Json::parse(s.call("POST", "/v1/completions", body).body);
  const Json b = Json::parse(s.call("POST", "/v1/completions", body).body);
  REQUIRE(a["choices"].size() == 3);
  CHECK(a["choices"] == b["choices"]);
  for (int i = 0; i < 3; ++i) CHECK(a["choices"][i]["index"] == i);
  CHECK(a["usage"]["completion_tokens"] == 36);
  CHECK(a["usage"]["prompt_tokens"] == s.engine->tokenize("Once upon a time", true, false).size());

  const Json stopped = Json::parse(
      s.call("POST", "/v1/completions",
             R"({"prompt":"Once upon a time","max_tokens":40,"temperature":0,"stop":["girl"]})")
          .body);
  CHECK(stopped["choices"][0]["finish_reason"] == "stop");
  const std::string text = stopped["choices"][0]["text"];
  CHECK(text.find("girl") == std::string::npos);
  CHECK(s.engine->generate("Once upon a time", greedy(40)).text.starts_with(text + "girl"));

  const Json echoed = Json::parse(
      s.call("POST", "/v1/completions", R"({"prompt":"Once upon","max_tokens":3,"echo":true})")
          .body);
  CHECK(echoed["choices"][0]["text"].get<std::string>().starts_with("Once upon"));

  const Json from_tokens =
      Json::parse(s.call("POST", "/v1/completions",
                         Json{{"prompt", s.engine->tokenize("Once upon a time", true, false)},
                              {"max_tokens", 8},
                              {"temperature", 0}}
                             .dump())
                      .body);
  CHECK(from_tokens["choices"][0]["text"] ==
        s.engine->generate("Once upon a time", greedy(8)).text);
}

TEST_CASE("logprobs: each token's log-probability and alternatives, as the engine gives them",
          "[server]") {
  Served s;
  GenerationOptions g = greedy(12);
  g.logprobs = 3;
  const GenerationResult direct = s.engine->generate("Once upon a time", g);
  REQUIRE(direct.logprobs.size() == 12);

  const test::HttpResponse r =
      s.call("POST", "/v1/completions",
             R"({"prompt":"Once upon a time","max_tokens":12,"temperature":0,"logprobs":3})");
  REQUIRE(r.status == 200);
  const Json choice = Json::parse(r.body)["choices"][0];
  CHECK(choice["text"] == direct.text);
  const Json& lp = choice["logprobs"];
  REQUIRE(lp["tokens"].size() == 12);
  REQUIRE(lp["token_logprobs"].size() == 12);
  REQUIRE(lp["top_logprobs"].size() == 12);
  std::string joined;
  for (size_t i = 0; i < 12; ++i) {
    INFO("token " << i);
    CHECK(lp["tokens"][i] == s.engine->token_piece(direct.tokens[i]));
    CHECK(lp["text_offset"][i] == joined.size());  // ASCII text: characters are bytes
    joined += lp["tokens"][i].get<std::string>();
    CHECK(lp["token_logprobs"][i].get<double>() == Approx(direct.logprobs[i].logprob));
    CHECK(lp["token_logprobs"][i].get<double>() <= 0);
    const Json& top = lp["top_logprobs"][i];
    CHECK(top.size() <= 3);
    // Greedy: the chosen token is the likeliest.
    CHECK(top[lp["tokens"][i].get<std::string>()] == lp["token_logprobs"][i]);
    for (const auto& [piece, logprob] : top.items()) {
      CHECK(logprob.get<double>() <= lp["token_logprobs"][i].get<double>());
    }
  }
  CHECK(joined == direct.text);

  // Chat: logprobs true with top_logprobs, in OpenAI's chat shape.
  const test::HttpResponse chat = s.call(
      "POST", "/v1/chat/completions",
      R"({"messages":[{"role":"user","content":"Tell a story"}],"max_tokens":6,"temperature":0,)"
      R"("logprobs":true,"top_logprobs":2})");
  REQUIRE(chat.status == 200);
  const Json c = Json::parse(chat.body)["choices"][0];
  const Json& content = c["logprobs"]["content"];
  REQUIRE(content.size() == 6);
  std::string reply;
  for (const Json& t : content) {
    reply += t["token"].get<std::string>();
    std::string from_bytes;
    for (const Json& b : t["bytes"]) from_bytes += static_cast<char>(b.get<int>());
    CHECK(from_bytes == t["token"].get<std::string>());
    REQUIRE(t["top_logprobs"].size() == 2);
    CHECK(t["top_logprobs"][0]["token"] == t["token"]);
    CHECK(t["top_logprobs"][0]["logprob"] == t["logprob"]);
    CHECK(t["top_logprobs"][1]["logprob"].get<double>() <= t["logprob"].get<double>());
  }
  CHECK(reply == c["message"]["content"]);
  // Streamed: each chunk carries the tokens made since the previous one, never fewer than its
  // text needs; together they are the whole answer's, with text_offset counted on.
  const test::HttpResponse stream =
      s.call("POST", "/v1/completions",
             R"({"prompt":"Once upon a time","max_tokens":12,"temperature":0,"logprobs":3,)"
             R"("stream":true})");
  REQUIRE(stream.status == 200);
  Json tokens = Json::array(), token_logprobs = Json::array(), top_logprobs = Json::array(),
       offsets = Json::array();
  std::string streamed_text, streamed_pieces;
  for (const Json& event : sse_events(stream.body)) {
    const Json& ch = event["choices"][0];
    streamed_text += ch["text"].get<std::string>();
    REQUIRE(ch["logprobs"].is_object());
    for (size_t i = 0; i < ch["logprobs"]["tokens"].size(); ++i) {
      tokens.push_back(ch["logprobs"]["tokens"][i]);
      streamed_pieces += ch["logprobs"]["tokens"][i].get<std::string>();
      token_logprobs.push_back(ch["logprobs"]["token_logprobs"][i]);
      top_logprobs.push_back(ch["logprobs"]["top_logprobs"][i]);
      offsets.push_back(ch["logprobs"]["text_offset"][i]);
    }
    CHECK(streamed_pieces.starts_with(streamed_text));
  }
  CHECK(streamed_text == direct.text);
  CHECK(tokens == lp["tokens"]);
  CHECK(token_logprobs == lp["token_logprobs"]);
  CHECK(top_logprobs == lp["top_logprobs"]);
  CHECK(offsets == lp["text_offset"]);
  const test::HttpResponse chat_stream = s.call(
      "POST", "/v1/chat/completions",
      R"({"messages":[{"role":"user","content":"Tell a story"}],"max_tokens":6,"temperature":0,)"
      R"("logprobs":true,"top_logprobs":2,"stream":true})");
  REQUIRE(chat_stream.status == 200);
  Json streamed_content = Json::array();
  for (const Json& event : sse_events(chat_stream.body)) {
    for (const Json& t : event["choices"][0]["logprobs"]["content"]) streamed_content.push_back(t);
  }
  CHECK(streamed_content == content);

  // Without the field, logprobs is null.
  const Json plain =
      Json::parse(s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":2})").body);
  CHECK(plain["choices"][0]["logprobs"].is_null());
  CHECK(s.cache_empties());
}

TEST_CASE("beam search through the API returns the plugin's hypotheses", "[server]") {
  Served s;
  GenerationOptions beam = greedy(10);
  beam.strategy = "trie_beam";
  beam.strategy_options = {{"num_beams", "4"}, {"num_return_sequences", "2"}};
  const GenerationResult direct = s.engine->generate("Once upon a time", beam);
  REQUIRE(direct.hypotheses.size() == 2);
  const test::HttpResponse r =
      s.call("POST", "/v1/completions",
             R"({"prompt":"Once upon a time","max_tokens":10,"beams":4,"n":2})");
  REQUIRE(r.status == 200);
  const Json j = Json::parse(r.body);
  REQUIRE(j["choices"].size() == 2);
  CHECK(j["choices"][0]["text"] == direct.text);
  CHECK(j["choices"][1]["text"] == direct.hypotheses[1].text);
  CHECK(j["choices"][0]["score"].get<double>() == Approx(direct.hypotheses[0].score));
  // best_of is beam search too; beams cannot stream.
  const Json best_of =
      Json::parse(s.call("POST", "/v1/completions",
                         R"({"prompt":"Once upon a time","max_tokens":10,"best_of":4,"n":2})")
                      .body);
  CHECK(best_of["choices"] == j["choices"]);
  const Json refused = Json::parse(
      s.call("POST", "/v1/completions", R"({"prompt":"Once","beams":2,"stream":true})").body);
  CHECK(refused["error"]["param"] == "stream");
  CHECK(s.cache_empties());
}

TEST_CASE("malformed requests get the right status and a message naming the field", "[server]") {
  ServerOptions options = local_options();
  options.max_body_bytes = 4096;
  options.max_header_bytes = 2048;
  Served s(options);
  struct Case {
    std::string body;
    int status;
    std::string param;  // "" = none
  };
  const Case cases[] = {
      {"{", 400, ""},
      {"[1,2]", 400, ""},
      {"", 400, ""},
      {R"({"prompt":"x","max_tokens":"10"})", 400, "max_tokens"},
      {R"({"prompt":"x","max_tokens":-1})", 400, "max_tokens"},
      {R"({"prompt":"x","max_tokens":1e9})", 400, "max_tokens"},
      {R"({"prompt":"x","temperature":"hot"})", 400, "temperature"},
      {R"({"prompt":"x","temperature":3})", 400, "temperature"},
      {R"({"prompt":"x","top_p":0})", 400, "top_p"},
      {R"({"prompt":"x","n":0})", 400, "n"},
      {R"({"prompt":"x","n":99})", 400, "n"},
      {R"({"prompt":"x","stop":[1]})", 400, "stop"},
      {R"({"prompt":"x","stream":"yes"})", 400, "stream"},
      {R"({"prompt":"x","stream_options":{"include_usage":true}})", 400, "stream_options"},
      {R"({"prompt":"x","frobnicate":true})", 400, "frobnicate"},
      {R"({"prompt":"x","logprobs":6})", 400, "logprobs"},
      {R"({"prompt":"x","logprobs":"2"})", 400, "logprobs"},
      {R"({"prompt":"x","logprobs":-1})", 400, "logprobs"},
      {R"({"prompt":"x","logprobs":1,"echo":true})", 400, "logprobs"},
      {R"({"prompt":"x","logprobs":1,"beams":2})", 400, "logprobs"},
      {R"({"prompt":"x","presence_penalty":0.5})", 400, "presence_penalty"},
      {R"({"prompt":"x","beams":2,"n":3})", 400, "n"},
      {R"({"prompt":"x","length_penalty":1})", 400, "length_penalty"},
      {R"({"prompt":7})", 400, "prompt"},
      {R"({"prompt":[]})", 400, "prompt"},
      {R"({"prompt":[1,2,100000]})", 400, "prompt"},
      {R"({"max_tokens":5})", 400, "prompt"},
      {R"({"prompt":"x","model":"gpt-4"})", 404, "model"},
      {R"({"prompt":"x","knowledge":"handbook"})", 400, "knowledge"},
      {std::string(80, '[') + std::string(80, ']'), 400, ""},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    const test::HttpResponse r = s.call("POST", "/v1/completions", c.body);
    CHECK(r.status == c.status);
    const Json error = Json::parse(r.body)["error"];
    CHECK(!error["message"].get<std::string>().empty());
    if (c.param.empty()) {
      CHECK(error["param"].is_null());
    } else {
      CHECK(error["param"] == c.param);
    }
  }
  const Case chat_cases[] = {
      {R"({"messages":[]})", 400, "messages"},
      {R"({"messages":"hi"})", 400, "messages"},
      {R"({"messages":[{"content":"hi"}]})", 400, "messages[0].role"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", 400,
       "messages[0].content"},
      {R"({"messages":[{"role":"user","content":"hi"}],"echo":true})", 400, "echo"},
      {R"({"messages":[{"role":"user","content":"hi"}],"top_logprobs":2})", 400, "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21})", 400,
       "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"hi"}],"logprobs":1})", 400, "logprobs"},
  };
  for (const Case& c : chat_cases) {
    INFO(c.body);
    const test::HttpResponse r = s.call("POST", "/v1/chat/completions", c.body);
    CHECK(r.status == c.status);
    CHECK(Json::parse(r.body)["error"]["param"] == c.param);
  }
  // A prompt longer than the context.
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "Once upon a time ";
  const test::HttpResponse too_long =
      s.call("POST", "/v1/completions", Json{{"prompt", long_prompt}}.dump().substr(0, 4000));
  CHECK(too_long.status == 400);

  CHECK(s.call("GET", "/v2/nothing").status == 404);
  CHECK(s.call("GET", "/v1/completions").status == 405);
  CHECK(s.call("DELETE", "/health").status == 405);

  // Bodies and headers beyond the limits; a request line that is not HTTP.
  const test::HttpResponse big =
      s.call("POST", "/v1/completions", R"({"prompt":")" + std::string(5000, 'a') + R"("})");
  CHECK(big.status == 413);
  const test::HttpResponse big_header =
      s.call("GET", "/health", "", "X-Padding: " + std::string(4000, 'x') + "\r\n");
  CHECK(big_header.status == 431);
  {
    test::HttpConnection c(s.port());
    c.send_raw("NOT HTTP AT ALL\r\n\r\n");
    CHECK(c.read_response().status == 400);
  }
  {
    test::HttpConnection c(s.port());
    c.send_raw("POST /v1/completions HTTP/1.1\r\nContent-Length: nope\r\n\r\n");
    CHECK(c.read_response().status == 400);
  }
  // The server goes on serving, and nothing is left in the cache.
  CHECK(s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":4})").status == 200);
  CHECK(s.cache_empties());
  CHECK(s.server->stats().client_errors >= std::size(cases) + std::size(chat_cases));
}

TEST_CASE("API keys guard every endpoint but health", "[server]") {
  const std::string key_file = test::binary_path("tests/server_test_keys.txt");
  {
    std::FILE* f = std::fopen(key_file.c_str(), "w");
    std::fputs("# keys for the test\nsk-first-key\n  sk-second-key  \n", f);
    std::fclose(f);
  }
  ServerOptions options = local_options();
  options.api_key_file = key_file;
  Served s(options);
  const std::string body = R"({"prompt":"Once","max_tokens":2})";
  const test::HttpResponse none = s.call("POST", "/v1/completions", body);
  CHECK(none.status == 401);
  CHECK(Json::parse(none.body)["error"]["code"] == "invalid_api_key");
  CHECK(s.call("POST", "/v1/completions", body, "Authorization: Bearer sk-first-ke\r\n").status ==
        401);
  CHECK(s.call("POST", "/v1/completions", body, "Authorization: Bearer sk-first-keyy\r\n").status ==
        401);
  CHECK(s.call("POST", "/v1/completions", body, "Authorization: sk-first-key\r\n").status == 401);
  CHECK(s.call("POST", "/v1/completions", body, "Authorization: Bearer sk-first-key\r\n").status ==
        200);
  CHECK(s.call("GET", "/v1/models", "", "Authorization: Bearer sk-second-key\r\n").status == 200);
  CHECK(s.call("GET", "/metrics").status == 401);
  CHECK(s.call("GET", "/health").status == 200);

  ServerOptions missing = local_options();
  missing.api_key_file = test::binary_path("tests/no-such-keys.txt");
  auto engine = load_engine();
  CHECK_THROWS_WITH(Server::start(*engine, missing), Catch::Contains("no-such-keys.txt"));
}

TEST_CASE("a slow client is cut off while others are served", "[server]") {
  ServerOptions options = local_options();
  options.read_timeout = 1;
  Served s(options);
  test::HttpConnection slow(s.port(), 10s);
  const std::string request = test::http_request("POST", "/v1/completions", R"({"prompt":"x"})");
  const auto start = std::chrono::steady_clock::now();
  bool cut_off = false;
  for (size_t i = 0; i < request.size(); ++i) {
    if (!slow.try_send_raw(std::string(1, request[i]))) {
      cut_off = true;
      break;
    }
    // Meanwhile another client is answered at once.
    if (i == 3) {
      CHECK(s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":2})").status == 200);
    }
    std::this_thread::sleep_for(250ms);
    if (std::chrono::steady_clock::now() - start > 3s) break;
  }
  CHECK((cut_off || slow.wait_closed()));
  CHECK(std::chrono::steady_clock::now() - start < 5s);

  // An idle keep-alive connection is closed after idle_timeout too.
  ServerOptions idle = local_options();
  idle.idle_timeout = 0.5;
  Served t(idle);
  test::HttpConnection quiet(t.port(), 5s);
  const auto idle_start = std::chrono::steady_clock::now();
  CHECK(quiet.wait_closed());
  CHECK(std::chrono::steady_clock::now() - idle_start < 3s);
}

TEST_CASE("a client that vanishes cancels its request and frees its KV blocks", "[server]") {
  Served s;
  // Mid-stream.
  {
    test::HttpConnection c(s.port());
    c.send_raw(test::http_request(
        "POST", "/v1/completions",
        R"({"prompt":"Once upon a time","max_tokens":400,"ignore_eos":true,"stream":true})"));
    const std::string start = c.read_some(200);
    CHECK(start.starts_with("HTTP/1.1 200"));
    c.close();
  }
  CHECK(s.cache_empties());
  // Before its (whole) answer was ready.
  {
    test::HttpConnection c(s.port());
    c.send_raw(
        test::http_request("POST", "/v1/completions",
                           R"({"prompt":"Once upon a time","max_tokens":400,"ignore_eos":true})"));
    c.close();
  }
  CHECK(s.cache_empties());
  for (int i = 0; i < 200 && s.server->stats().cancelled_by_disconnect < 2; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(s.server->stats().cancelled_by_disconnect == 2);
  CHECK(s.engine->scheduler_stats().running == 0);
  CHECK(s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":3})").status == 200);
}

TEST_CASE("a full queue answers 429 with Retry-After, and the queue drains in order", "[server]") {
  ServerOptions options = local_options();
  options.max_concurrent_requests = 1;
  options.max_queued_requests = 1;
  Served s(options);
  const std::string long_stream =
      test::http_request("POST", "/v1/completions",
                         R"({"prompt":"Once","max_tokens":300,"ignore_eos":true,"stream":true})");
  test::HttpConnection running(s.port()), waiting(s.port());
  running.send_raw(long_stream);
  CHECK(running.read_some(20).starts_with("HTTP/1.1 200"));
  waiting.send_raw(
      test::http_request("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":3})"));
  for (int i = 0; i < 200 && s.server->stats().queued < 1; ++i) std::this_thread::sleep_for(5ms);
  const test::HttpResponse busy =
      s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":3})");
  CHECK(busy.status == 429);
  CHECK(busy.headers.at("retry-after") == "1");
  CHECK(Json::parse(busy.body)["error"]["type"] == "rate_limit_error");
  running.close();  // its place passes to the waiting request
  const test::HttpResponse served = waiting.read_response();
  CHECK(served.status == 200);
  CHECK(Json::parse(served.body)["usage"]["completion_tokens"] == 3);
  CHECK(s.cache_empties());
}

TEST_CASE("shutdown lets answers in flight finish within the grace, then refuses connections",
          "[server]") {
  // 64 long streams (some 6 MB of events, more than the sockets buffer) to a client that
  // reads nothing for a while: the answer is still in flight when shutdown begins.
  const std::string request = test::http_request(
      "POST", "/v1/completions",
      R"({"prompt":"Once","max_tokens":480,"ignore_eos":true,"stream":true,"n":64})");
  ServerOptions options = local_options();
  options.max_choices = 64;
  for (const bool graceful : {true, false}) {
    INFO((graceful ? "with a grace period" : "without one"));
    Served s(options);
    const uint16_t port = s.port();
    test::HttpConnection c(port, 120s, 4096);
    c.send_raw(request);
    CHECK(c.read_some(20).starts_with("HTTP/1.1 200"));
    std::atomic<bool> stopped{false};
    std::thread stopper([&] {
      // Generous: under the sanitizers on a loaded machine the 64 streams take over 20 s.
      s.server->shutdown(graceful ? 90s : 0ms);
      stopped = true;
    });
    std::this_thread::sleep_for(300ms);
    if (graceful) CHECK_FALSE(stopped);
    const std::string rest = c.read_some(1 << 24);
    stopper.join();
    // With the grace every choice runs to its length; without, the cancelled ones end early
    // (and the stream still ends properly).
    int full_length = 0;
    for (size_t at = 0; (at = rest.find(R"("finish_reason":"length")", at)) != std::string::npos;
         ++at) {
      ++full_length;
    }
    CHECK((full_length == 64) == graceful);
    CHECK(s.engine->kv_cache_stats().used_blocks == 0);
    CHECK_THROWS(test::HttpConnection(port));
  }
}

TEST_CASE("random bytes and truncated requests never stop the server", "[server]") {
  Served s;
  std::mt19937 random(20261203);
  const std::string valid =
      test::http_request("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":2})");
  for (int i = 0; i < 150; ++i) {
    std::string bytes;
    switch (i % 3) {
      case 0:  // noise
        for (int n = random() % 600; n > 0; --n) bytes += static_cast<char>(random());
        break;
      case 1:  // a valid request cut short
        bytes = valid.substr(0, random() % valid.size());
        break;
      default:  // a valid request with bytes flipped
        bytes = valid;
        for (int n = 0; n < 3; ++n) bytes[random() % bytes.size()] ^= 1 + random() % 255;
    }
    test::HttpConnection c(s.port(), 5s);
    c.try_send_raw(bytes);
    c.close();
  }
  CHECK(s.call("POST", "/v1/completions", R"({"prompt":"Once","max_tokens":3})").status == 200);
  CHECK(s.cache_empties());
}
