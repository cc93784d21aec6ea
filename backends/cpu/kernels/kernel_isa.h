// Keeps helpers that are compiled once per instruction set apart at link time.
//
// Inline functions in headers shared by files built with different ISA flags (say an
// AVX-512 kernel file and the portable dispatch file) would otherwise be one symbol, and the
// linker may keep the AVX-512 copy for every caller, which then faults on older CPUs.
// Shared headers wrap their helpers in `inline namespace HEARTH_KERNEL_ISA`, which the build
// sets per file (see CMakeLists.txt), so each instruction set gets its own copies.
#pragma once

#ifndef HEARTH_KERNEL_ISA
#define HEARTH_KERNEL_ISA isa_generic
#endif
