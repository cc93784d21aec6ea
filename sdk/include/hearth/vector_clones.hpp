// Compiles a hot loop for AVX-512, AVX2 and plain x86-64, picked at load time, so the
// library (the engine, or a plugin built for plain x86-64) runs on any x86-64 yet vectorises
// fully where it can. Sanitizer builds skip the clones (ifunc resolvers run before the
// sanitizer runtime is ready). A function marked so must not be a template. Header-only: it
// adds nothing to the plugin ABI.
#pragma once

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define HEARTH_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HEARTH_VECTOR_CLONES
#endif
