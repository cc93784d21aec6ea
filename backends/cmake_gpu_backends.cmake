# GPU backends. AUTO builds a backend when its compiler is found; ON requires it; OFF skips it.
# Sets HEARTH_HAVE_CUDA (and enables the CUDA language) when the CUDA backend is built.
# The HIP backend will compile the same sources through backends/cuda/vendor.h; it is not part
# of this version, so HEARTH_HIP only reports whether hipcc was found.
set(HEARTH_CUDA_ARCHITECTURES "80;90" CACHE STRING
  "GPU architectures the CUDA backend is compiled for (80: A100, 90: H100/H200)")
set(HEARTH_HAVE_CUDA OFF)
foreach(kind CUDA HIP)
  if(kind STREQUAL "CUDA")
    find_program(HEARTH_${kind}_COMPILER nvcc HINTS /usr/local/cuda/bin)
  else()
    find_program(HEARTH_${kind}_COMPILER hipcc HINTS /opt/rocm/bin)
  endif()
  if(HEARTH_${kind} STREQUAL "ON" AND NOT HEARTH_${kind}_COMPILER)
    message(FATAL_ERROR "HEARTH_${kind}=ON but its compiler was not found")
  endif()
  if(HEARTH_FUZZ AND NOT HEARTH_${kind} STREQUAL "OFF")
    message(STATUS "hearth: ${kind} backend off (fuzzing builds host code only)")
  elseif(HEARTH_${kind}_COMPILER AND NOT HEARTH_${kind} STREQUAL "OFF" AND kind STREQUAL "CUDA")
    set(CMAKE_CUDA_COMPILER ${HEARTH_CUDA_COMPILER})
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES ${HEARTH_CUDA_ARCHITECTURES})
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(HEARTH_HAVE_CUDA ON)
    message(STATUS "hearth: CUDA backend on (${HEARTH_CUDA_COMPILER}, sm ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(HEARTH_${kind}_COMPILER AND NOT HEARTH_${kind} STREQUAL "OFF")
    message(STATUS "hearth: ${kind} compiler found (${HEARTH_${kind}_COMPILER}); "
                   "the ${kind} backend is not part of this version")
  else()
    message(STATUS "hearth: ${kind} backend off")
  endif()
endforeach()
