// A plugin file is checked before dlopen sees it: the dynamic loader maps every loadable
// segment, and touching a page of a segment that lies past the end of a truncated file is a
// SIGBUS that would kill the host. The header and program headers are read with plain reads
// and every loadable segment must lie inside the file.
#pragma once

#include <string>

namespace hearth::plugins {

// Throws PluginRefused naming the file: missing, not a regular file, not ELF, another class,
// byte order or machine, not a shared library (an executable), or truncated.
void check_elf_library(const std::string& path);

}  // namespace hearth::plugins
