# oneDNN is optional: only the benchmark that compares its f32 GEMM with hearth's own kernels
# links it. Debian's dnnl-config.cmake demands the OpenCL development files (a package that
# libdnnl-dev merely recommends), so the library and header are located directly and wrapped
# in an imported target; the CPU-only C API needs nothing else.
if(HEARTH_ONEDNN STREQUAL "OFF")
  return()
endif()
find_path(HEARTH_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
find_library(HEARTH_DNNL_LIBRARY dnnl)
if(HEARTH_DNNL_INCLUDE_DIR AND HEARTH_DNNL_LIBRARY)
  add_library(hearth_onednn INTERFACE IMPORTED)
  target_include_directories(hearth_onednn INTERFACE ${HEARTH_DNNL_INCLUDE_DIR})
  target_link_libraries(hearth_onednn INTERFACE ${HEARTH_DNNL_LIBRARY})
  message(STATUS "oneDNN: ${HEARTH_DNNL_LIBRARY} (onednn_gemm_bench)")
elseif(HEARTH_ONEDNN STREQUAL "ON")
  message(FATAL_ERROR "HEARTH_ONEDNN=ON but oneDNN was not found: install libdnnl-dev")
else()
  message(STATUS "oneDNN: not found, onednn_gemm_bench is not built")
endif()
