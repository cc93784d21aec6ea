// hearth quantize: a float model's matrices written in another weight format, so users can
// make the K-quant files they need from the F16 files they have.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/progress.h"
#include "hearth/error.h"
#include "hearth/quantize.h"

namespace hearth::cli {

int quantize_command(int argc, char** argv) {
  QuantizeOptions options;
  std::vector<std::string> positional;
  std::string types;
  for (const std::string& name : quantize_type_names()) types += (types.empty() ? "" : ", ") + name;
  ArgParser parser("hearth quantize IN.gguf OUT.gguf TYPE [--pure] [-t THREADS]",
                   "Writes IN's matrices in TYPE (" + types +
                       "). The _M and _S mixtures keep some matrices in more bits, as "
                       "llama.cpp's do; --pure writes every matrix in the base type. Norms and "
                       "other 1-D tensors stay as they are. IN must be an F32, F16 or BF16 model.");
  parser.flag({"--pure"}, "every matrix in the base type, no mixture exceptions", &options.pure);
  parser.option({"-t", "--threads"}, "N", "threads (default: every core)", &options.threads);
  parser.positional("IN OUT TYPE", &positional, 3);
  if (!parser.parse(argc, argv)) return 0;
  if (positional.size() != 3) throw Error("give IN.gguf OUT.gguf TYPE");
  options.input = positional[0];
  options.output = positional[1];
  options.type = positional[2];
  // Progress only at a terminal; the summary line below is printed either way.
  if (auto progress = terminal_task_progress()) {
    options.on_progress = [progress](int64_t done, int64_t total) {
      progress("hearth quantize: tensors", done, total);
    };
  }
  const QuantizeStats stats = quantize_model(options);
  std::string mix;
  for (const auto& [type, count] : stats.tensors_per_type) {
    mix += (mix.empty() ? "" : ", ") + std::to_string(count) + " " + type;
  }
  std::printf("%s: %lld tensors (%s), %.1f MiB -> %.1f MiB in %.1f s\n", options.output.c_str(),
              static_cast<long long>(stats.tensors), mix.c_str(), stats.input_bytes / 1048576.0,
              stats.output_bytes / 1048576.0, stats.seconds);
  return 0;
}

}  // namespace hearth::cli
