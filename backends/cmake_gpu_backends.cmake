# GPU backends. AUTO builds a backend when its compiler is found; ON requires it.
# The engine runs on the CPU backend today; the CUDA and HIP backends plug into
# backends/backend.h and are built from backends/cuda (HIP through a vendor-mapping header).
foreach(kind CUDA HIP)
  if(kind STREQUAL "CUDA")
    find_program(HEARTH_${kind}_COMPILER nvcc HINTS /usr/local/cuda/bin)
  else()
    find_program(HEARTH_${kind}_COMPILER hipcc HINTS /opt/rocm/bin)
  endif()
  if(HEARTH_${kind} STREQUAL "ON" AND NOT HEARTH_${kind}_COMPILER)
    message(FATAL_ERROR "HEARTH_${kind}=ON but its compiler was not found")
  endif()
  if(HEARTH_${kind}_COMPILER AND NOT HEARTH_${kind} STREQUAL "OFF")
    message(STATUS "hearth: ${kind} compiler found (${HEARTH_${kind}_COMPILER}); "
                   "the ${kind} backend is not part of this version")
  else()
    message(STATUS "hearth: ${kind} backend off")
  endif()
endforeach()
