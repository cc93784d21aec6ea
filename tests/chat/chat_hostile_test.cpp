// Malformed and hostile templates: each is a clear error naming the line and column, found at
// parse time where it can be, and never a crash, a hang or an unbounded allocation.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "hearth/chat_template.h"
#include "hearth/error.h"

namespace {

std::string render(const std::string& text, const std::string& messages = "[]") {
  const hearth::ChatTemplate chat = hearth::ChatTemplate::parse(text, "t.jinja");
  return chat.render(nlohmann::ordered_json::parse(messages), hearth::ChatRenderOptions{});
}

std::string repeat(const std::string& part, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += part;
  return out;
}

}  // namespace

TEST_CASE("malformed templates are refused at parse time with line and column", "[chat]") {
  const std::pair<std::string, std::string> cases[] = {
      {"{{ x ", "t.jinja:1:1: expression is never closed"},
      {"a\n{% if x %}",
       "t.jinja:2:11: the template ends before {% elif %} or {% else %} or {% endif %}"},
      {"{% for %}", "t.jinja:1:8: expected a loop variable"},
      {"{% endif %}", "t.jinja:1:4: unexpected {% endif %}"},
      {"{{ x | nofilter }}", "t.jinja:1:8: no filter named 'nofilter'"},
      {"{{ x is nottest }}", "t.jinja:1:9: no test named 'nottest'"},
      {"{% include 'other.jinja' %}", "the 'include' tag is not supported"},
      {"{% raw %}x{% endraw %}", "the 'raw' tag is not supported"},
      {"{# never closed", "t.jinja:1:1: comment is never closed"},
      {"{{ 'never closed }}", "t.jinja:1:4: string is never closed"},
      {"{{ x ) }}", "expected '}}'"},
      {"{% set %}", "expected a variable name"},
      {"{{ }}", "expected an expression"},
      {"{{ f(a=1, 2) }}", "a positional argument after keyword arguments"},
      {"{% break %}", "'break' outside a loop"},
      {"{% macro m( %}{% endmacro %}", "t.jinja:1:1: block tag is never closed"},
      {"{{ @ }}", "t.jinja:1:4: unexpected character '@'"},
      {"{{ 99999999999999999999 }}", "is too large"},
      {"{% for x in y recursive %}{% endfor %}", "recursive loops are not supported"},
      {"{{ '\\x4' }}", "malformed \\x escape"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    REQUIRE_THROWS_AS(hearth::ChatTemplate::parse(text, "t.jinja"), hearth::Error);
    REQUIRE_THROWS_WITH(hearth::ChatTemplate::parse(text, "t.jinja"), Catch::Contains(message));
  }
}

TEST_CASE("nesting and size are bounded at parse time", "[chat]") {
  const std::string deep[] = {
      "{{ " + repeat("(", 100000) + "1" + repeat(")", 100000) + " }}",
      "{{ " + repeat("[", 100000) + repeat("]", 100000) + " }}",
      "{{ " + repeat("-", 100000) + "1 }}",
      "{{ " + repeat("not ", 100000) + "x }}",
      repeat("{% if x %}", 100000),
      "{{ x" + repeat(".a", 100000) + " }}",
      "{{ x" + repeat("|trim", 100000) + " }}",
      "{{ 1" + repeat(" + 1", 100000) + " }}",
      "{{ x" + repeat("[0]", 100000) + " }}",
  };
  for (const std::string& text : deep) {
    INFO(text.substr(0, 40));
    REQUIRE_THROWS_WITH(hearth::ChatTemplate::parse(text, "t.jinja"), Catch::Contains("deep"));
  }
  REQUIRE_THROWS_WITH(hearth::ChatTemplate::parse(std::string(2 << 20, 'x'), "t.jinja"),
                      Catch::Contains("more than the limit"));
}

TEST_CASE("hostile renderings stop with a clear error", "[chat]") {
  const std::pair<std::string, std::string> cases[] = {
      {"{% for i in range(10**12) %}{% endfor %}", "t.jinja:1:18: a list of"},
      {"{{ range(0, 2**62, 1)|length }}", "a list of"},
      {"{% set r = range(1000) %}{% for i in r %}{% for j in r %}{% for k in r %}{% endfor %}"
       "{% endfor %}{% endfor %}",
       "steps"},
      {"{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
       "{% endfor %}",
       "MiB"},
      {"{{ 'x' * 10**9 }}", "MiB"},
      {"{% for i in range(200000) %}{{ 'x' * 1000 }}{% endfor %}", "exceeds"},
      {"{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "macros call one another"},
      {"{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}"
       "{% endfor %}",
       "nested more than"},
      {"{% set ns = namespace() %}{% set ns.self = ns %}", "cannot hold a namespace"},
      {"{% set ns = namespace() %}{% set ns.l = [ns] %}", "cannot hold a namespace"},
      {"{{ 2 ** 64 }}", "integer overflow"},
      {"{{ 9223372036854775807 + 1 }}", "integer overflow"},
      {"{{ 1 // 0 }}", "division by zero"},
      {"{{ 1 % 0 }}", "modulo by zero"},
      {"{{ [1][::0] }}", "slice step cannot be zero"},
      {"line one\n  {{ x.y.z }}", "t.jinja:2:7: 'x' is undefined"},
      {"{% set d = {} %}{{ d.a.b }}", "'dict object' has no attribute 'a'"},
      {"{{ 1 + 'a' }}", "unsupported operand type(s) for +: 'int' and 'str'"},
      {"{% for x in 5 %}{% endfor %}", "'int' object is not iterable"},
      {"{{ raise_exception('no system role') }}", "t.jinja:1:19: raise_exception: no system role"},
      {"{{ x|tojson }}", "not JSON serializable"},
      {"{% set a, b = [1] %}", "not enough values to unpack"},
      {"{{ 'abc' < 1 }}", "'<' not supported"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    REQUIRE_THROWS_AS(render(text), hearth::Error);
    REQUIRE_THROWS_WITH(render(text), Catch::Contains(message));
  }
  // Messages nested deeper than any conversation are refused, not recursed into.
  std::string deep_messages = "[" + repeat("[", 10000) + repeat("]", 10000) + "]";
  REQUIRE_THROWS_WITH(render("x", deep_messages), Catch::Contains("nested more than"));
  REQUIRE_THROWS_WITH(render("x", "{\"not\": \"a list\"}"), Catch::Contains("JSON array"));
}

TEST_CASE("undefined values behave as jinja2's default Undefined", "[chat]") {
  CHECK(render("[{{ x }}][{{ x|trim }}][{{ x|length }}][{{ x|list }}][{{ x ~ 'y' }}]") ==
        "[][][0][[]][y]");
  CHECK(render("{{ x is defined }} {{ x is undefined }} {{ x == x }} {{ x is none }}") ==
        "False True True False");
  CHECK(render("{% for m in x %}never{% else %}empty{% endfor %}") == "empty");
  CHECK(render("{% if x %}yes{% else %}no{% endif %}{{ 'a' in x }}") == "noFalse");
  CHECK(render("{{ none.a }}|{{ 'abc'.nothing }}|{{ messages[3] }}", "[1]") == "||");
  CHECK(render("{{ x|default('d') }}{{ tools }}{{ documents is none }}") == "dNoneTrue");
}

TEST_CASE("one parsed template renders many times, each with its own state", "[chat]") {
  const hearth::ChatTemplate chat = hearth::ChatTemplate::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}"
      "{{ ns.n }}{{ bos_token }}{{ eos_token }}{{ add_generation_prompt }}{{ date_string }}",
      "t.jinja");
  hearth::ChatRenderOptions options;
  options.bos_token = "<s>";
  options.eos_token = "</s>";
  options.add_generation_prompt = true;
  const nlohmann::ordered_json variables = {{"date_string", " today"}};
  CHECK(chat.render(nlohmann::ordered_json::parse("[1, 2, 3]"), options, &variables) ==
        "3<s></s>True today");
  CHECK(chat.render(nlohmann::json::parse("[1]"), hearth::ChatRenderOptions{}) == "1False");
  CHECK(chat.name() == "t.jinja");
}
