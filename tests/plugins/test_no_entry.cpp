// Test fixture: a shared library that exports a function, but not hearth_plugin_entry.
#include "hearth/plugin.h"

extern "C" HEARTH_PLUGIN_EXPORT int hearth_not_a_plugin(void) { return 0; }
