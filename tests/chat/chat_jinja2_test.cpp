// Templates beyond the six fixtures — our own, written to reach every construct the renderer
// supports, and the real ones with tool calls — rendered by Python's jinja2 with Hugging
// Face's settings (tests/chat/jinja2_render.py) and by hearth, compared byte for byte. Where
// jinja2 fails, hearth must fail too, with the same message when the template raised.
// Skipped when python3-jinja2 is not installed.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hearth/chat_template.h"
#include "hearth/error.h"

namespace {

using Json = nlohmann::ordered_json;
const std::string kData = std::string(HEARTH_SOURCE_DIR) + "/tests/data/chat_templates/";
constexpr int64_t kNow = 1768435200;  // 2026-01-15, as the fixtures' strftime_now

std::vector<std::string> own_templates() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(kData + "own")) {
    if (entry.path().extension() == ".jinja") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> real_templates() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.path().extension() == ".jinja") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

const Json kTools = Json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
   "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "Name"},
   "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}, "return": {"type": "number"}}}
])");

std::vector<Json> conversations() {
  return {
      Json::parse(R"([{"role": "user", "content": "Hello there, world!"}])"),
      Json::parse(R"([{"role": "system", "content": "  Be brief.\n"},
        {"role": "user", "content": "Français, ünï, 日本語 and \"quotes\" & <tags>"},
        {"role": "assistant", "content": "<think>hmm</think> Oui."},
        {"role": "user", "content": "  spaced\n\nlines  "}])"),
      Json::parse(R"([{"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
          "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}]},
        {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21}"},
        {"role": "assistant", "content": "It is 21 degrees."},
        {"role": "user", "content": "Thanks"}])"),
      Json::parse(
          R"([{"role": "user", "content": "x"}, {"role": "tool", "content": {"temp": 21.5, "ok": true}}])"),
      Json::parse("[]"),
  };
}

struct Case {
  std::string template_path;
  Json messages;
  bool add_generation_prompt = false;
  Json variables = Json::object();
};

Json to_json(const Case& c) {
  return Json{{"template", c.template_path},
              {"messages", c.messages},
              {"add_generation_prompt", c.add_generation_prompt},
              {"bos_token", "<s>"},
              {"eos_token", "</s>"},
              {"variables", c.variables},
              {"now", kNow}};
}

// A cut may split a UTF-8 sequence: shown replaced, never thrown.
std::string quoted(const std::string& text) {
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Where two renderings part, with a little of each from there: the whole texts are long.
std::string first_difference(const std::string& ours, const std::string& theirs) {
  size_t at = 0;
  while (at < ours.size() && at < theirs.size() && ours[at] == theirs[at]) ++at;
  const size_t from = at < 20 ? 0 : at - 20;
  return "at byte " + std::to_string(at) + "\nhearth: " + quoted(ours.substr(from, 60)) +
         "\njinja2: " + quoted(theirs.substr(from, 60));
}

// Runs the reference renderer; returns false when jinja2 is not installed.
bool render_with_jinja2(const std::vector<Case>& cases, Json& results) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("hearth_chat_jinja2_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  Json all = Json::array();
  for (const Case& c : cases) all.push_back(to_json(c));
  std::ofstream(dir + "/cases.json") << all.dump();
  const std::string command = "python3 " + std::string(HEARTH_SOURCE_DIR) +
                              "/tests/chat/jinja2_render.py " + dir + "/cases.json " + dir +
                              "/out.json";
  const int status = std::system(command.c_str());
  const bool ran = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const bool absent =
      WIFEXITED(status) && (WEXITSTATUS(status) == 77 || WEXITSTATUS(status) == 127);
  if (ran) {
    std::ifstream in(dir + "/out.json");
    results = Json::parse(in);
  }
  std::filesystem::remove_all(dir);
  if (!ran && !absent) FAIL("jinja2_render.py failed with status " << status);
  return ran;
}

void compare(const std::vector<Case>& cases) {
  Json expected;
  if (!render_with_jinja2(cases, expected)) {
    WARN("python3-jinja2 is not installed: skipping the comparison");
    return;
  }
  REQUIRE(expected.size() == cases.size());
  int errors = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    INFO(c.template_path << "\nmessages " << c.messages.dump() << "\nadd_generation_prompt "
                         << c.add_generation_prompt);
    hearth::ChatRenderOptions options;
    options.add_generation_prompt = c.add_generation_prompt;
    options.bos_token = "<s>";
    options.eos_token = "</s>";
    options.now_unix_seconds = kNow;
    const hearth::ChatTemplate chat = hearth::ChatTemplate::load(c.template_path);
    if (expected[i].contains("rendered")) {
      const std::string ours = chat.render(c.messages, options, &c.variables);
      const std::string theirs = expected[i]["rendered"].get<std::string>();
      INFO(first_difference(ours, theirs));
      CHECK(ours == theirs);
      continue;
    }
    ++errors;
    const std::string error = expected[i]["error"].get<std::string>();
    INFO("jinja2: " << error);
    const std::string raised = "TemplateError: ";
    if (error.rfind(raised, 0) == 0) {
      CHECK_THROWS_WITH(chat.render(c.messages, options, &c.variables),
                        Catch::Contains("raise_exception: " + error.substr(raised.size())));
    } else {
      CHECK_THROWS_AS(chat.render(c.messages, options, &c.variables), hearth::Error);
    }
  }
  // The cases were chosen so that some fail (empty conversations, raising roles) but most
  // render.
  CHECK(errors < static_cast<int>(cases.size()) / 2);
}

}  // namespace

TEST_CASE("our own templates render as jinja2 renders them", "[chat][jinja2]") {
  std::vector<Case> cases;
  for (const std::string& path : own_templates()) {
    for (const Json& messages : conversations()) {
      for (bool prompt : {false, true}) {
        Case c{path, messages, prompt};
        if (path.find("tools") != std::string::npos) {
          c.variables = Json{{"tools", kTools}, {"date_string", "15 Jan 2026"}};
        }
        cases.push_back(c);
      }
    }
  }
  CHECK(cases.size() >= 80);
  compare(cases);
}

TEST_CASE("the real templates render tool calls as jinja2 renders them", "[chat][jinja2]") {
  std::vector<Case> cases;
  for (const std::string& path : real_templates()) {
    for (const Json& messages : conversations()) {
      for (bool prompt : {false, true}) {
        cases.push_back({path, messages, prompt, Json{{"tools", kTools}}});
        cases.push_back({path, messages, prompt,
                         Json{{"tools", kTools},
                              {"tools_in_user_message", false},
                              {"builtin_tools", Json::array({"get_weather"})}}});
      }
    }
  }
  compare(cases);
}
