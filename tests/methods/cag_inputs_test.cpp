// The cag plugin's inputs, from its own sources: option reading (knowledge sets, templates,
// cache settings) and reading documents from real files and folders.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cag_options.h"
#include "documents.h"

namespace fs = std::filesystem;
using cag::parse_cag_options;
using cag::parse_template;
using hearth::sdk::Options;

namespace {

std::string refusal(const std::vector<std::pair<std::string, std::string>>& entries) {
  try {
    parse_cag_options(Options(entries));
  } catch (const hearth::sdk::Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder under the system's temporary one, removed with everything in it.
struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("hearth-cag-" + std::to_string(std::random_device{}()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
};

}  // namespace

TEST_CASE("a template splits at its documents and question places") {
  const cag::PromptTemplate t = parse_template("Read:\n{documents}\nQ: {question}\nA:", "template");
  CHECK(t.before_documents == "Read:\n");
  CHECK(t.before_question == "\nQ: ");
  CHECK(t.after_question == "\nA:");
  const cag::PromptTemplate d = parse_template(cag::kDefaultTemplate, "template");
  CHECK(d.before_documents.empty());
  CHECK(d.before_question == "\n\nQuestion: ");
  CHECK(d.after_question == "\nAnswer:");

  auto why = [](const std::string& text) {
    try {
      parse_template(text, "x.template");
    } catch (const hearth::sdk::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(why("{question}"), Catch::Contains("x.template") && Catch::Contains("no {documents}"));
  CHECK_THAT(why("{documents}"), Catch::Contains("no {question}"));
  CHECK_THAT(why("{documents}{documents}{question}"), Catch::Contains("{documents} twice"));
  CHECK_THAT(why("{documents}{question}{question}"), Catch::Contains("{question} twice"));
  CHECK_THAT(why("{question}{documents}"), Catch::Contains("before {documents}"));
}

TEST_CASE("knowledge sets are read from their documents and template options") {
  const cag::CagOptions o =
      parse_cag_options(Options(std::vector<std::pair<std::string, std::string>>{
          {"handbook.documents", "docs/handbook,/abs/faq.md"},
          {"policies.documents", "policies"},
          {"policies.template", "P: {documents} Q: {question}"},
          {"template", "{documents}|{question}|"},
          {"cache_dir", "/var/cache/hearth/cag"},
          {"on_stale", "refuse"},
          {"base_dir", "/srv/hearth"},
      }));
  REQUIRE(o.sets.size() == 2);
  CHECK(o.sets[0].name == "handbook");
  CHECK(o.sets[0].sources == std::vector<std::string>{"/srv/hearth/docs/handbook", "/abs/faq.md"});
  CHECK(o.sets[0].prompt.before_question == "|");  // the plugin-wide template
  CHECK(o.sets[1].name == "policies");
  CHECK(o.sets[1].sources == std::vector<std::string>{"/srv/hearth/policies"});
  CHECK(o.sets[1].prompt.before_documents == "P: ");
  CHECK(o.cache_dir == "/var/cache/hearth/cag");
  CHECK(o.on_stale == cag::OnStale::refuse);

  const std::vector<std::pair<std::string, std::string>> one = {{"a.documents", "x.md"}};
  const cag::CagOptions plain = parse_cag_options(Options(one));
  CHECK(plain.sets[0].sources == std::vector<std::string>{"x.md"});  // no base_dir: as given
  CHECK(plain.on_stale == cag::OnStale::rebuild);
  CHECK(plain.cache_dir.empty());

  // From a configuration file: relative paths start from its folder, or from a relative
  // base_dir inside it.
  const std::vector<std::pair<std::string, std::string>> filed = {{"a.documents", "docs/x.md"},
                                                                  {"cache_dir", "cache"}};
  const cag::CagOptions in_folder = parse_cag_options(Options(filed), "/srv/site");
  CHECK(in_folder.sets[0].sources == std::vector<std::string>{"/srv/site/docs/x.md"});
  CHECK(in_folder.cache_dir == "/srv/site/cache");
  std::vector<std::pair<std::string, std::string>> based = filed;
  based.emplace_back("base_dir", "kb");
  const cag::CagOptions in_base = parse_cag_options(Options(based), "/srv/site");
  CHECK(in_base.sets[0].sources == std::vector<std::string>{"/srv/site/kb/docs/x.md"});
  CHECK(in_base.cache_dir == "/srv/site/kb/cache");
}

TEST_CASE("bad cag options are refused, naming the option") {
  CHECK_THAT(refusal({{"a.documents", "x"}, {"cache_dri", "/tmp"}}),
             Catch::Contains("unknown option 'cache_dri'"));
  CHECK_THAT(refusal({{"bad name.documents", "x"}}), Catch::Contains("'bad name.documents'"));
  CHECK_THAT(refusal({{"a.template", "{documents}{question}"}}),
             Catch::Contains("'a'") && Catch::Contains("no 'a.documents'"));
  CHECK_THAT(refusal({{"a.documents", " , "}}), Catch::Contains("'a.documents' lists no"));
  CHECK_THAT(refusal({{"on_stale", "sometimes"}}), Catch::Contains("on_stale"));
  CHECK_THAT(refusal({{"a.documents", "x"}, {"a.template", "{question}"}}),
             Catch::Contains("'a.template'"));
  CHECK_THAT(refusal({{"a.colour", "x"}}), Catch::Contains("unknown option 'a.colour'"));
}

TEST_CASE("documents come from files and folders in a fixed order") {
  TempDir dir;
  dir.write("kb/b.txt", "bravo");
  dir.write("kb/a.md", "alpha");
  dir.write("kb/sub/c.MARKDOWN", "charlie");
  dir.write("kb/.hidden/d.md", "hidden");
  dir.write("kb/.e.md", "hidden too");
  dir.write("kb/f.pdf", "not a document");
  const fs::path single = dir.write("single.txt", "zulu");
  const std::vector<cag::Document> docs =
      cag::read_documents({single.string(), (dir.path / "kb").string()});
  REQUIRE(docs.size() == 4);
  CHECK(docs[0].text == "zulu");  // sources keep their order
  CHECK(docs[1].text == "alpha");
  CHECK(docs[2].text == "bravo");
  CHECK(docs[3].text == "charlie");
  CHECK(docs[1].path == (dir.path / "kb" / "a.md").string());
  CHECK(docs[1].hash == cag::fnv1a("alpha"));
  CHECK(docs[1].hash != docs[2].hash);
}

TEST_CASE("bad document sources are refused, naming the path") {
  TempDir dir;
  auto why = [](const std::vector<std::string>& sources, const cag::DocumentLimits& limits = {}) {
    try {
      cag::read_documents(sources, limits);
    } catch (const hearth::sdk::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string missing = (dir.path / "nope.md").string();
  CHECK_THAT(why({missing}), Catch::Contains(missing) && Catch::Contains("does not exist"));
  fs::create_directories(dir.path / "empty");
  dir.write("empty/notes.pdf", "x");
  CHECK_THAT(why({(dir.path / "empty").string()}), Catch::Contains("holds no .txt"));
  const fs::path big = dir.write("big.md", std::string(100, 'x'));
  cag::DocumentLimits small;
  small.max_document_bytes = 99;
  CHECK_THAT(why({big.string()}, small), Catch::Contains(big.string()) && Catch::Contains("100"));
  cag::DocumentLimits few;
  few.max_documents = 1;
  dir.write("two/a.md", "a");
  dir.write("two/b.md", "b");
  CHECK_THAT(why({(dir.path / "two").string()}, few), Catch::Contains("more than 1 documents"));
  cag::DocumentLimits total;
  total.max_total_bytes = 150;
  CHECK_THAT(why({big.string(), big.string()}, total), Catch::Contains("bytes in all"));
  CHECK_THAT(why({"/dev/null"}), Catch::Contains("neither a file nor a folder"));
}
