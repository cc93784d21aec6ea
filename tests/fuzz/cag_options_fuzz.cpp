// Fuzz target for the cag plugin's option reader (knowledge sets, templates, cache settings):
// lines of KEY=VALUE must be accepted or refused with an error, never crash, hang or allocate
// without bound. Accepted options must be consistent: every set named and with documents, and
// its template's three parts put back together hold both places. Built as a libFuzzer target
// with -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cag_options.h"
#include "option_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const cag::CagOptions o =
        cag::parse_cag_options(hearth::sdk::Options(option_lines(data, size)));
    for (const cag::KnowledgeSetConfig& set : o.sets) {
      if (set.name.empty() || set.name.size() > 64 || set.sources.empty()) std::abort();
      const cag::PromptTemplate& t = set.prompt;
      const cag::PromptTemplate again = cag::parse_template(
          t.before_documents + "{documents}" + t.before_question + "{question}" + t.after_question,
          "template");
      if (again.before_documents != t.before_documents ||
          again.before_question != t.before_question || again.after_question != t.after_question) {
        std::abort();
      }
    }
  } catch (const hearth::sdk::Error&) {
  }
  return 0;
}
