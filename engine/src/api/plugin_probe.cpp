#include "hearth/plugin_probe.h"

#include "plugins/plugin_library.h"

namespace hearth {

PluginLibraryInfo probe_plugin_library(const std::string& path) {
  const hearth_plugin_descriptor* d = plugins::load_library(path).descriptor;
  PluginLibraryInfo info;
  info.path = path;
  info.name = d->name;
  info.version = d->version ? d->version : "";
  info.description = d->description ? d->description : "";
  info.kind = plugins::kind_name(d->kind);
  info.abi_major = d->abi_major;
  info.abi_minor = d->abi_minor;
  // load_library() has checked that a decoding plugin gives all four step members or none.
  info.step_wise = d->kind == HEARTH_PLUGIN_DECODING &&
                   HEARTH_HAS_MEMBER(d->decoding, hearth_decoding_vtable, end, 2) &&
                   d->decoding->begin;
  return info;
}

}  // namespace hearth
