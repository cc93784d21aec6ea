#include "plugins/plugin_library.h"

#include <dlfcn.h>

#include <boost/dll/shared_library.hpp>
#include <map>
#include <memory>
#include <mutex>

#include "plugins/elf_check.h"

namespace hearth::plugins {
namespace {

// Every library ever loaded, never unloaded: plugin code may still be referenced by objects
// (descriptors, static strings) for as long as the process runs.
std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, std::unique_ptr<boost::dll::shared_library>>& loaded_libraries() {
  static auto* libraries = new std::map<std::string, std::unique_ptr<boost::dll::shared_library>>;
  return *libraries;
}

[[noreturn]] void refuse(const std::string& path, const std::string& reason) {
  throw PluginRefused(path + ": " + reason);
}

// `size_1_0`: the struct's size in ABI 1.0, which every plugin of this major must reach.
template <typename Vtable>
void check_vtable(const std::string& path, const Vtable* vtable, const char* kind,
                  size_t size_1_0) {
  if (!vtable) refuse(path, std::string("missing member: ") + kind + " vtable");
  if (vtable->abi_major != HEARTH_PLUGIN_ABI_MAJOR) {
    refuse(path, std::string(kind) + " vtable ABI major " + std::to_string(vtable->abi_major) +
                     " != " + std::to_string(HEARTH_PLUGIN_ABI_MAJOR));
  }
  if (vtable->struct_size < size_1_0) {
    refuse(path, std::string(kind) + " vtable struct_size " + std::to_string(vtable->struct_size) +
                     " is smaller than the least a plugin may give, " + std::to_string(size_1_0));
  }
}

void check_descriptor(const std::string& path, const hearth_plugin_descriptor* d) {
  if (!d) refuse(path, "the entry point returned no descriptor (plugin refused this host)");
  if (d->abi_major != HEARTH_PLUGIN_ABI_MAJOR) {
    refuse(path, "ABI major " + std::to_string(d->abi_major) +
                     " != " + std::to_string(HEARTH_PLUGIN_ABI_MAJOR) +
                     " (rebuild the plugin against this hearth SDK)");
  }
  if (d->struct_size < offsetof(hearth_plugin_descriptor, metrics) + sizeof(void*)) {
    refuse(path, "descriptor struct_size " + std::to_string(d->struct_size) + " is too small");
  }
  if (!d->name || !*d->name) refuse(path, "missing member: name");
  if (!d->create) refuse(path, "missing member: create");
  if (!d->destroy) refuse(path, "missing member: destroy");
  switch (d->kind) {
    case HEARTH_PLUGIN_DECODING: {
      check_vtable(path, d->decoding, "decoding", offsetof(hearth_decoding_vtable, free_result));
      // A plugin that gives one step-wise member must give them all; without them, run().
      const auto* v = d->decoding;
      const bool has_step_members = HEARTH_HAS_MEMBER(v, hearth_decoding_vtable, end, 2);
      const int given = has_step_members ? (v->begin != nullptr) + (v->step != nullptr) +
                                               (v->result != nullptr) + (v->end != nullptr)
                                         : 0;
      if (given != 0 && given != 4) {
        refuse(path, "missing member: decoding begin/step/result/end (all four or none)");
      }
      if (given == 0 && !v->run) refuse(path, "missing member: decoding.run or begin/step");
      break;
    }
    case HEARTH_PLUGIN_KNOWLEDGE: {
      check_vtable(path, d->knowledge, "knowledge", HEARTH_KNOWLEDGE_VTABLE_SIZE_1_4);
      const auto* k = d->knowledge;
      if (!k->build || !k->attach || !k->reset || !k->save || !k->restore) {
        refuse(path, "missing member: knowledge build/attach/reset/save/restore");
      }
      break;
    }
    case HEARTH_PLUGIN_ATTENTION:
      check_vtable(path, d->attention, "attention", sizeof(hearth_attention_vtable));
      if (!d->attention->transform) refuse(path, "missing member: attention.transform");
      break;
    case HEARTH_PLUGIN_METRICS:
      check_vtable(path, d->metrics, "metrics", HEARTH_METRICS_VTABLE_SIZE_1_0);
      if (!d->metrics->on_event || !d->metrics->snapshot) {
        refuse(path, "missing member: metrics on_event/snapshot");
      }
      break;
    default:
      refuse(path, "unknown plugin kind " + std::to_string(static_cast<int>(d->kind)));
  }
}

}  // namespace

const char* kind_name(hearth_plugin_kind kind) {
  switch (kind) {
    case HEARTH_PLUGIN_DECODING:
      return "decoding";
    case HEARTH_PLUGIN_KNOWLEDGE:
      return "knowledge";
    case HEARTH_PLUGIN_ATTENTION:
      return "attention";
    case HEARTH_PLUGIN_METRICS:
      return "metrics";
  }
  return "unknown";
}

LoadedLibrary load_library(const std::string& path) {
  std::lock_guard lock(registry_mutex());
  auto& libraries = loaded_libraries();
  auto it = libraries.find(path);
  if (it == libraries.end()) {
    // dlopen maps the file as it is: a truncated library is a SIGBUS, not an error code.
    check_elf_library(path);
    auto library = std::make_unique<boost::dll::shared_library>();
    boost::dll::fs::error_code ec;
    library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec) {
      // Boost reports every dlopen failure as "Bad file descriptor"; dlerror() has the reason.
      const char* reason = ::dlerror();
      refuse(path, "not a loadable library (" + std::string(reason ? reason : ec.message()) + ")");
    }
    if (!library->has(HEARTH_PLUGIN_ENTRY_SYMBOL)) {
      refuse(path, std::string("not a plugin: no ") + HEARTH_PLUGIN_ENTRY_SYMBOL + " entry point");
    }
    it = libraries.emplace(path, std::move(library)).first;
  }
  auto entry = it->second->get<const hearth_plugin_descriptor*(uint16_t, uint16_t)>(
      HEARTH_PLUGIN_ENTRY_SYMBOL);
  const hearth_plugin_descriptor* descriptor =
      entry(HEARTH_PLUGIN_ABI_MAJOR, HEARTH_PLUGIN_ABI_MINOR);
  check_descriptor(path, descriptor);
  return {path, descriptor};
}

}  // namespace hearth::plugins
