# hearth_add_plugin(<name> SOURCES <file>... [OUTPUT_DIRECTORY <dir>])
#
# Builds the plugin library hearth-<name>.so (target hearth_<name>) against hearth::sdk: C++20,
# hidden visibility, and no undefined symbols, so a missing definition fails the link here
# instead of the dlopen() in a deployment. A version script keeps hearth_plugin_entry the only
# exported symbol: -fvisibility=hidden alone still lets template statics from libstdc++'s
# headers (which force default visibility) into the dynamic symbol table.
include_guard(GLOBAL)

function(hearth_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "OUTPUT_DIRECTORY" "SOURCES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "hearth_add_plugin(${name}): no SOURCES")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hearth_add_plugin(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()

  set(target hearth_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE hearth::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME hearth-${name}
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(NOT APPLE AND NOT WIN32)
    set(exports ${CMAKE_BINARY_DIR}/hearth_plugin_exports.map)
    file(CONFIGURE OUTPUT ${exports} CONTENT "{\n  global: hearth_plugin_entry;\n  local: *;\n};\n")
    target_link_options(${target} PRIVATE LINKER:--no-undefined LINKER:--version-script=${exports})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${exports})
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
endfunction()
