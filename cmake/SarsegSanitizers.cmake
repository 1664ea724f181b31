# SARSEG_SANITIZE: a comma-separated list of sanitizers (address,undefined) that every target in
# this build is compiled and linked with (docs/reliability.md). The unit tests pass under
# -DSARSEG_SANITIZE=address,undefined; LibTorch itself is not instrumented.
#
# SARSEG_FUZZ (clang only): also instruments every target for libFuzzer coverage and builds the
# fuzz targets of fuzz/ (scripts/fuzz builds them in their own build directory).
set(SARSEG_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
option(SARSEG_FUZZ "Build the libFuzzer targets of fuzz/ (clang)" OFF)

if(SARSEG_SANITIZE)
  set(SARSEG_SANITIZE_FLAGS -fsanitize=${SARSEG_SANITIZE} -fno-omit-frame-pointer -g)
  if(SARSEG_SANITIZE MATCHES "undefined")
    # A UB report fails the run instead of scrolling past. vptr checks need the RTTI of every
    # class they meet, and LibTorch's (compiled without the sanitizer) makes them misfire.
    list(APPEND SARSEG_SANITIZE_FLAGS -fno-sanitize-recover=undefined -fno-sanitize=vptr)
  endif()
  add_compile_options(${SARSEG_SANITIZE_FLAGS})
  add_link_options(-fsanitize=${SARSEG_SANITIZE})
endif()

if(SARSEG_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SARSEG_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
