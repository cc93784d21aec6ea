// Workload files for `hearth oae run`: what they say, and clear refusals of bad ones.
#include "hearth/workload.h"

#include <catch2/catch.hpp>
#include <string>

#include "hearth/error.h"

using namespace hearth;

namespace {

constexpr const char* kGood = R"(
name = "cag-handbook"
documents = ["docs/handbook.md"]
max_tokens = 16
[method]
label = "cag"
knowledge = "cache"
[baseline]
label = "full-prompt"
knowledge = "prompt"
[[requests]]
at = 2.5
prompt = "second"
[[requests]]
at = 0
prompt = "first"
max_tokens = 4
)";

std::string refusal(const std::string& text) {
  try {
    parse_workload(text, "/srv/w.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a workload file gives its variants and requests in arrival order") {
  const Workload w = parse_workload(kGood, "/srv/site/w.toml");
  CHECK(w.name == "cag-handbook");
  CHECK(w.max_tokens == 16);
  REQUIRE(w.documents.size() == 1);
  CHECK(w.documents[0] == "/srv/site/docs/handbook.md");
  CHECK(w.method.label == "cag");
  CHECK(w.method.knowledge == "cache");
  CHECK(w.baseline.knowledge == "prompt");
  REQUIRE(w.requests.size() == 2);
  CHECK(w.requests[0].prompt == "first");
  CHECK(w.requests[0].max_tokens == 4);
  CHECK(w.requests[1].at == 2.5);
  CHECK(w.requests[1].max_tokens == 0);  // the workload's
}

TEST_CASE("beams and retrofit variants") {
  const Workload w = parse_workload(R"(
[method]
label = "trie"
beams = 4
[baseline]
label = "unshared"
beams = 4
unshared_kv = true
[[requests]]
prompt = "x"
)",
                                    "w.toml");
  CHECK(w.method.beams == 4);
  CHECK_FALSE(w.method.unshared_kv);
  CHECK(w.baseline.unshared_kv);
}

TEST_CASE("bad workload files are refused, naming what and where") {
  const std::string variants = "[method]\nlabel = \"m\"\n[baseline]\nlabel = \"b\"\n";
  const std::string one = "[[requests]]\nprompt = \"x\"\n";
  CHECK_THAT(refusal("[baseline]\nlabel = \"b\"\n" + one), Catch::Contains("[method]"));
  CHECK_THAT(refusal(variants), Catch::Contains("[[requests]]"));
  CHECK_THAT(refusal("[method]\nlabel = \"x\"\n[baseline]\nlabel = \"x\"\n" + one),
             Catch::Contains("different labels"));
  CHECK_THAT(refusal("[method]\nlabel = \"../x\"\n[baseline]\nlabel = \"b\"\n" + one),
             Catch::Contains("'label'"));
  CHECK_THAT(refusal(variants + "[[requests]]\nprompt = \"x\"\nat = -1\n"),
             Catch::Contains("/srv/w.toml:") && Catch::Contains("'at'"));
  CHECK_THAT(refusal(variants + "[[requests]]\nat = 1\n"), Catch::Contains("needs 'prompt'"));
  CHECK_THAT(refusal(variants + one + "colour = 1\n"), Catch::Contains("unknown key 'colour'"));
  CHECK_THAT(
      refusal("[method]\nlabel = \"m\"\nknowledge = \"cache\"\n[baseline]\nlabel = \"b\"\n" + one),
      Catch::Contains("needs 'documents'"));
  CHECK_THAT(
      refusal("[method]\nlabel = \"m\"\nknowledge = \"rag\"\n[baseline]\nlabel = \"b\"\n" + one),
      Catch::Contains("knowledge"));
  CHECK_THAT(
      refusal("[method]\nlabel = \"m\"\nunshared_kv = true\n[baseline]\nlabel = \"b\"\n" + one),
      Catch::Contains("needs 'beams'"));
  CHECK_THAT(refusal("[method\n"), Catch::Contains("/srv/w.toml:1"));
  CHECK_THAT(refusal(variants + "requests = 3\n"), Catch::Contains("'requests'"));
}
