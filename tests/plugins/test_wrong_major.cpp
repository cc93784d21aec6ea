// Test fixture: a hand-written descriptor that claims ABI major 2 and is returned whatever the
// host asks for, so the host's own major check is what refuses it.
#include "hearth/plugin.h"

namespace {

hearth_status create(const hearth_host_services*, const hearth_kv*, size_t,
                     hearth_plugin_instance** instance) {
  *instance = nullptr;
  return HEARTH_ERROR_FAILED;
}

void destroy(hearth_plugin_instance*) {}

void on_event(hearth_plugin_instance*, const hearth_event*) {}

hearth_status snapshot(hearth_plugin_instance*, hearth_kv*, size_t, size_t* count) {
  *count = 0;
  return HEARTH_OK;
}

const hearth_metrics_vtable vtable = {
    sizeof(hearth_metrics_vtable), 2, 0, on_event, snapshot, nullptr};

const hearth_plugin_descriptor descriptor = {sizeof(hearth_plugin_descriptor),
                                             2,
                                             0,
                                             "test_wrong_major",
                                             "1.0",
                                             "declares ABI major 2",
                                             HEARTH_PLUGIN_METRICS,
                                             create,
                                             destroy,
                                             nullptr,
                                             nullptr,
                                             nullptr,
                                             &vtable};

}  // namespace

extern "C" HEARTH_PLUGIN_EXPORT const hearth_plugin_descriptor* hearth_plugin_entry(uint16_t,
                                                                                    uint16_t) {
  return &descriptor;
}
