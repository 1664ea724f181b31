# Compiler launcher, warnings and the shared torch precompiled header.

if(SARSEG_USE_CCACHE)
  find_program(SARSEG_CCACHE ccache)
  if(SARSEG_CCACHE)
    # PCH-friendly ccache settings; passed through the environment of each compile.
    set(CMAKE_CXX_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        # Relative paths in the cache key: clones in other folders (CI) hit the same entries.
        "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
        ${SARSEG_CCACHE})
    set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
  endif()
endif()

add_library(sarseg_warnings INTERFACE)
target_compile_options(sarseg_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>
  $<$<BOOL:${SARSEG_WARNINGS_AS_ERRORS}>:-Werror>)

# sarseg_add_module(NAME SOURCES ... [TORCH] [DEPS ...])
# Declares one static library per module so that a module builds and tests on its own.
# TORCH modules reuse the precompiled torch header of sarseg_torch_pch. Every module is installed
# and exported as sarseg::NAME (cmake/SarsegInstall.cmake reads SARSEG_MODULE_TARGETS).
function(sarseg_add_module name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(sarseg_${name} STATIC ${ARG_SOURCES})
  add_library(sarseg::${name} ALIAS sarseg_${name})
  target_include_directories(sarseg_${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
  target_link_libraries(sarseg_${name} PUBLIC ${ARG_DEPS} PRIVATE sarseg_warnings)
  set_target_properties(sarseg_${name} PROPERTIES EXPORT_NAME ${name})
  set_property(GLOBAL APPEND PROPERTY SARSEG_MODULE_TARGETS sarseg_${name})
  if(ARG_TORCH)
    sarseg_use_torch(sarseg_${name})
  endif()
endfunction()

# Links torch and reuses the shared precompiled header.
function(sarseg_use_torch target)
  target_link_libraries(${target} PUBLIC sarseg_torch_pch)
  if(SARSEG_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM sarseg_torch_pch)
  endif()
endfunction()
