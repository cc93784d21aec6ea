// Test fixture: a hand-written decoding descriptor whose vtable lacks run (NULL), which the
// host must refuse at load instead of calling.
#include "hearth/plugin.h"

namespace {

// Any non-null address will do: no member that could use the instance exists.
int instance_storage;

hearth_status create(const hearth_host_services*, const hearth_kv*, size_t,
                     hearth_plugin_instance** instance) {
  *instance = reinterpret_cast<hearth_plugin_instance*>(&instance_storage);
  return HEARTH_OK;
}

void destroy(hearth_plugin_instance*) {}

const hearth_decoding_vtable vtable = {sizeof(hearth_decoding_vtable), HEARTH_PLUGIN_ABI_MAJOR,
                                       HEARTH_PLUGIN_ABI_MINOR, nullptr, nullptr};

const hearth_plugin_descriptor descriptor = {sizeof(hearth_plugin_descriptor),
                                             HEARTH_PLUGIN_ABI_MAJOR,
                                             HEARTH_PLUGIN_ABI_MINOR,
                                             "test_missing_member",
                                             "1.0",
                                             "a decoding vtable without run",
                                             HEARTH_PLUGIN_DECODING,
                                             create,
                                             destroy,
                                             &vtable,
                                             nullptr,
                                             nullptr,
                                             nullptr};

}  // namespace

extern "C" HEARTH_PLUGIN_EXPORT const hearth_plugin_descriptor* hearth_plugin_entry(uint16_t,
                                                                                    uint16_t) {
  return &descriptor;
}
