// The real templates of six instruction-tuned models against jinja2's renderings of them
// (tests/data/chat_templates/expected.json, made with Hugging Face's settings): every case
// byte for byte, and the template's own error where it raises.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "hearth/chat_template.h"
#include "hearth/error.h"

namespace {

const std::string kFixtures = std::string(HEARTH_SOURCE_DIR) + "/tests/data/chat_templates/";

nlohmann::ordered_json read_expected() {
  std::ifstream in(kFixtures + "expected.json");
  REQUIRE(in);
  return nlohmann::ordered_json::parse(in);
}

}  // namespace

TEST_CASE("every fixture case renders as jinja2 rendered it", "[chat]") {
  const nlohmann::ordered_json expected = read_expected();
  std::map<std::string, hearth::ChatTemplate> templates;
  int rendered = 0, raised = 0;
  for (const auto& c : expected["cases"]) {
    const std::string file = c["template"].get<std::string>();
    if (!templates.count(file))
      templates.emplace(file, hearth::ChatTemplate::load(kFixtures + file));
    const hearth::ChatTemplate& chat = templates.at(file);
    hearth::ChatRenderOptions options;
    options.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    options.bos_token = c["bos_token"].get<std::string>();
    options.eos_token = c["eos_token"].get<std::string>();
    INFO(file << " conversation " << c["conversation"] << " add_generation_prompt "
              << options.add_generation_prompt);
    if (c.contains("error")) {
      // "TemplateError: System role not supported": the message is what the template raised.
      std::string message = c["error"].get<std::string>();
      message = message.substr(message.find(": ") + 2);
      REQUIRE_THROWS_WITH(chat.render(c["messages"], options),
                          Catch::Contains("raise_exception: " + message));
      ++raised;
    } else {
      CHECK(chat.render(c["messages"], options) == c["expected"].get<std::string>());
      ++rendered;
    }
  }
  CHECK(templates.size() == 6);
  CHECK(rendered + raised == 60);
  CHECK(raised > 0);
}
