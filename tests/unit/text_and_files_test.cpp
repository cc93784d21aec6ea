// Helpers that stand between user-named files or file bytes and the operator's terminal.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "hearth/error.h"
#include "hearth/text.h"
#include "util/mapped_file.h"

using hearth::printable;
namespace fs = std::filesystem;

TEST_CASE("printable escapes terminal controls and keeps UTF-8 text", "[util]") {
  CHECK(printable("plain text") == "plain text");
  CHECK(printable("\x1b[31mred") == "\\x1b[31mred");
  CHECK(printable("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(printable(std::string("nul\0bell\x07", 9)) == "nul\\x00bell\\x07");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("\xc2\x9b"
                  "2J") == "\\xc2\\x9b2J");  // C1 CSI
  CHECK(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5");
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");           // not UTF-8
  CHECK(printable("\xc3") == "\\xc3");                    // cut sequence
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");           // overlong
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
  CHECK(printable("a\\x1b") == "a\\\\x1b");  // a backslash in the text is not an escape
  CHECK(printable("\xe2\x80\xae"
                  "cod.exe") == "\\xe2\\x80\\xaecod.exe");  // right-to-left override
  CHECK(printable("\xe2\x81\xa6x") == "\\xe2\\x81\\xa6x");
}

TEST_CASE("user-named files are checked before they are opened", "[util]") {
  const fs::path dir = fs::temp_directory_path() / ("hearth-files-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);  // open() would block forever
  CHECK_THROWS_WITH(hearth::read_text_file((dir / "fifo").string(), "prompt file", 100),
                    Catch::Contains("prompt file '") && Catch::Contains("is a FIFO"));
  CHECK_THROWS_WITH(hearth::util::MappedFile((dir / "fifo").string()),
                    Catch::Contains("is a FIFO"));
  CHECK_THROWS_WITH(hearth::read_text_file("/dev/zero", "prompt file", 100),
                    Catch::Contains("is a character device"));
  CHECK_THROWS_WITH(hearth::read_text_file(dir.string(), "prompt file", 100),
                    Catch::Contains("is a directory"));
  CHECK_THROWS_WITH(hearth::read_text_file((dir / "absent").string(), "prompt file", 100),
                    Catch::Contains("No such file"));
  fs::create_symlink(dir / "nowhere", dir / "dangling");
  CHECK_THROWS_WITH(hearth::read_text_file((dir / "dangling").string(), "prompt file", 100),
                    Catch::Contains("dangling symbolic link"));
  std::ofstream(dir / "text") << std::string(101, 'x');
  CHECK_THROWS_WITH(hearth::read_text_file((dir / "text").string(), "prompt file", 100),
                    Catch::Contains("above the limit"));
  CHECK(hearth::read_text_file((dir / "text").string(), "prompt file", 101).size() == 101);
  fs::remove_all(dir);
}
