// Runs the fuzz target over files and over every prefix and byte-flip of them, so the
// corpus is exercised in every test run, sanitizers included.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    if (bytes.empty()) {
      std::fprintf(stderr, "%s: cannot read\n", argv[i]);
      return 1;
    }
    // The header is where the reader makes decisions; mutate it densely.
    size_t header = std::min<size_t>(bytes.size(), 2048);
    for (size_t n = 0; n <= header; n += 3) LLVMFuzzerTestOneInput(bytes.data(), n);
    for (size_t at = 0; at < header; at += 5) {
      for (uint8_t flip : {0x01, 0x80, 0xff}) {
        bytes[at] ^= flip;
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
        bytes[at] ^= flip;
      }
    }
    std::printf("%s: %zu bytes replayed\n", argv[i], bytes.size());
  }
  return 0;
}
