// Every struct that crosses the plugin boundary starts with its size and the ABI version it
// was written against; this makes one with that header filled in and everything else zero.
#pragma once

#include "hearth/plugin.h"

namespace hearth::plugins {

template <typename T>
T make_abi_struct() {
  T value{};
  value.struct_size = sizeof(T);
  value.abi_major = HEARTH_PLUGIN_ABI_MAJOR;
  value.abi_minor = HEARTH_PLUGIN_ABI_MINOR;
  return value;
}

}  // namespace hearth::plugins
