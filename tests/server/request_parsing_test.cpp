// The server's readers on their own: OpenAI request bodies, API key files and listen
// addresses, each against what it must accept and what it must refuse.
#include <catch2/catch.hpp>

#include "hearth/error.h"
#include "server/api_keys.h"
#include "server/listen_address.h"
#include "server/openai_request.h"

using namespace hearth;
using namespace hearth::server;

namespace {

ApiRequest parse(Endpoint e, const std::string& body, GenerationOptions defaults = {}) {
  RequestLimits limits;
  limits.vocab_size = 512;
  return parse_api_request(e, body, defaults, limits);
}

std::string refused_param(Endpoint e, const std::string& body) {
  try {
    parse(e, body);
  } catch (const ApiError& error) {
    CHECK(error.status() == 400);
    return error.param();
  }
  FAIL("accepted: " << body);
  return "";
}

}  // namespace

TEST_CASE("request fields map onto generation options; absent ones keep the defaults", "[server]") {
  GenerationOptions defaults;
  defaults.sampling.top_k = 12;
  defaults.sampling.temperature = 0.3f;
  const ApiRequest r = parse(Endpoint::completions,
                             R"({"model":"m","prompt":"hi","max_tokens":7,"top_p":0.5,)"
                             R"("stop":"\n","seed":42,"n":2,"user":"u1","logprobs":null})",
                             defaults);
  CHECK(r.model == "m");
  REQUIRE(r.prompts.size() == 1);
  CHECK(r.prompts[0].text == "hi");
  CHECK(r.generation.max_tokens == 7);
  CHECK(r.generation.sampling.top_p == 0.5f);
  CHECK(r.generation.sampling.top_k == 12);
  CHECK(r.generation.sampling.temperature == 0.3f);
  CHECK(r.generation.stop == std::vector<std::string>{"\n"});
  CHECK(r.generation.sampling.seed == 42u);
  CHECK(r.generation.strategy == "sampling");
  CHECK(r.n == 2);
  // OpenAI's defaults for what the body leaves out: 16 tokens for completions; chat runs to
  // the server's limit.
  CHECK(parse(Endpoint::completions, R"({"prompt":"hi"})").generation.max_tokens == 16);
  const ApiRequest chat = parse(Endpoint::chat_completions,
                                R"({"messages":[{"role":"user","content":"hi","name":"x"}]})");
  CHECK(chat.generation.max_tokens == RequestLimits{}.max_tokens_limit);
  CHECK(chat.messages[0]["name"] == "x");
  CHECK_FALSE(chat.generation.add_bos);
  CHECK(chat.generation.parse_special);
  CHECK(parse(Endpoint::chat_completions,
              R"({"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":9})")
            .generation.max_tokens == 9);
}

TEST_CASE("prompts come as text, lists of text, token ids or lists of token ids", "[server]") {
  CHECK(parse(Endpoint::completions, R"({"prompt":["a","b"]})").prompts.size() == 2);
  const ApiRequest tokens = parse(Endpoint::completions, R"({"prompt":[1,2,3]})");
  REQUIRE(tokens.prompts.size() == 1);
  CHECK(tokens.prompts[0].is_tokens);
  CHECK(tokens.prompts[0].tokens == std::vector<int32_t>{1, 2, 3});
  CHECK(parse(Endpoint::completions, R"({"prompt":[[1],[2,3]]})").prompts.size() == 2);
  CHECK(refused_param(Endpoint::completions, R"({"prompt":[512]})") == "prompt");
  CHECK(refused_param(Endpoint::completions, R"({"prompt":[-1]})") == "prompt");
  CHECK(refused_param(Endpoint::completions, R"({"prompt":[1.5]})") == "prompt");
  CHECK(refused_param(Endpoint::completions, R"({"prompt":[{"a":1}]})") == "prompt");
}

TEST_CASE("beam search is asked for with beams or best_of", "[server]") {
  const ApiRequest r =
      parse(Endpoint::completions, R"({"prompt":"hi","beams":4,"n":2,"length_penalty":0.5,)"
                                   R"("early_stopping":"never"})");
  CHECK(r.beams == 4);
  CHECK(r.generation.strategy == "trie_beam");
  using Option = std::pair<std::string, std::string>;
  const std::vector<Option> expected = {{"num_beams", "4"},
                                        {"num_return_sequences", "2"},
                                        {"length_penalty", "0.5"},
                                        {"early_stopping", "never"}};
  CHECK(r.generation.strategy_options == expected);
  CHECK(parse(Endpoint::completions, R"({"prompt":"hi","best_of":3})").beams == 3);
  CHECK(refused_param(Endpoint::completions, R"({"prompt":"hi","best_of":3,"beams":2})") ==
        "best_of");
  CHECK(refused_param(Endpoint::completions, R"({"prompt":"hi","beams":2,"early_stopping":1})") ==
        "early_stopping");
  CHECK(refused_param(Endpoint::chat_completions,
                      R"({"messages":[{"role":"user","content":"x"}],"best_of":2})") == "best_of");
}

TEST_CASE("JSON bodies: malformed, not objects, or nested too deep are refused", "[server]") {
  CHECK_THROWS_WITH(parse_json_body(R"({"a":)"), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_json_body("[]"), Catch::Contains("JSON object"));
  CHECK_THROWS_WITH(
      parse_json_body(R"({"a":)" + std::string(100, '[') + std::string(100, ']') + "}"),
      Catch::Contains("deeper than 64"));
  CHECK(parse_json_body(R"({"a":"\u00e9"})")["a"] == "\xc3\xa9");
}

TEST_CASE("API key files and the constant-time check", "[server]") {
  const ApiKeys keys = ApiKeys::from_text("# comment\n\nkey-one\r\n  key-two\t\n", "keys.txt");
  CHECK(keys.required());
  CHECK(keys.allows("Bearer key-one"));
  CHECK(keys.allows("Bearer key-two"));
  CHECK_FALSE(keys.allows("Bearer key-on"));
  CHECK_FALSE(keys.allows("Bearer key-onee"));
  CHECK_FALSE(keys.allows("bearer key-one"));
  CHECK_FALSE(keys.allows("key-one"));
  CHECK_FALSE(keys.allows(""));
  CHECK_FALSE(keys.allows("Bearer " + std::string(10000, 'k')));
  CHECK(ApiKeys().allows(""));
  CHECK_THROWS_WITH(ApiKeys::from_text("# only a comment\n", "keys.txt"),
                    Catch::Contains("keys.txt") && Catch::Contains("no key"));
  CHECK_THROWS_WITH(ApiKeys::from_text("good\nbad key\n", "keys.txt"),
                    Catch::Contains("keys.txt:2"));
}

TEST_CASE("listen addresses", "[server]") {
  CHECK(parse_listen_address("127.0.0.1:8080").host == "127.0.0.1");
  CHECK(parse_listen_address("127.0.0.1:8080").port == 8080);
  CHECK(parse_listen_address(":9000").host == "0.0.0.0");
  CHECK(parse_listen_address("[::1]:0").host == "::1");
  for (const char* bad : {"8080", "host:", "1.2.3.4:99999", "::1:80", "[::1:80", "a:b"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_listen_address(bad), Catch::Contains("listen address"));
  }
}
