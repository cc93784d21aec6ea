// The subcommands of the `hearth` program. Each takes the arguments after its name and
// returns the process exit code.
#pragma once

namespace hearth::cli {

int generate_command(int argc, char** argv);
int tokenize_command(int argc, char** argv);
int info_command(int argc, char** argv);
int bench_command(int argc, char** argv);
int run_command(int argc, char** argv);
int plugins_command(int argc, char** argv);
int plugin_check_command(int argc, char** argv);
int cag_command(int argc, char** argv);
int perplexity_command(int argc, char** argv);
int retrofit_command(int argc, char** argv);
int oae_command(int argc, char** argv);
int template_command(int argc, char** argv);
int quantize_command(int argc, char** argv);
int chat_command(int argc, char** argv);
int serve_command(int argc, char** argv);

}  // namespace hearth::cli
