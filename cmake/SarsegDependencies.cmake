# Every external package is found here, once.
find_package(Torch REQUIRED)
if(Torch_VERSION VERSION_LESS 1.13)
  message(FATAL_ERROR "sarseg needs LibTorch 1.13 or newer (found ${Torch_VERSION})")
endif()
message(STATUS "sarseg: LibTorch ${Torch_VERSION}")

find_package(Threads REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog REQUIRED)
find_package(PNG REQUIRED)
find_package(pugixml REQUIRED)  # Sentinel-1 product annotation (io/sentinel1.h)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP QUIET IMPORTED_TARGET libzip)
if(NOT TARGET PkgConfig::LIBZIP)
  # Relocated installs (e.g. unpacked packages on a GPU node) have libzip's CMake config only.
  find_package(libzip CONFIG REQUIRED)
  add_library(PkgConfig::LIBZIP INTERFACE IMPORTED)
  set_target_properties(PkgConfig::LIBZIP PROPERTIES INTERFACE_LINK_LIBRARIES libzip::zip)
endif()

if(SARSEG_WITH_CURL)
  find_package(CURL REQUIRED)
endif()
if(SARSEG_WITH_GDAL)
  find_package(GDAL CONFIG QUIET)
  if(NOT GDAL_FOUND)
    find_package(GDAL REQUIRED)
  endif()
endif()
if(SARSEG_WITH_NETCDF)
  pkg_check_modules(NETCDF REQUIRED IMPORTED_TARGET netcdf)
endif()

# Torch as a target (TorchConfig gives variables only). Installed, it stands for sarseg::libtorch,
# which sarsegConfig.cmake makes from the consumer's own find_package(Torch).
add_library(sarseg_torch_base INTERFACE)
target_link_libraries(sarseg_torch_base INTERFACE "$<BUILD_INTERFACE:${TORCH_LIBRARIES}>"
                                                  "$<INSTALL_INTERFACE:sarseg::libtorch>")
target_include_directories(sarseg_torch_base SYSTEM INTERFACE
                           "$<BUILD_INTERFACE:${TORCH_INCLUDE_DIRS}>")
target_compile_options(sarseg_torch_base INTERFACE "$<BUILD_INTERFACE:${TORCH_CXX_FLAGS}>")

# Feature flags visible to every module through one generated header.
set(SARSEG_HAVE_GDAL ${SARSEG_WITH_GDAL})
set(SARSEG_HAVE_NETCDF ${SARSEG_WITH_NETCDF})
set(SARSEG_HAVE_CURL ${SARSEG_WITH_CURL})
configure_file(${PROJECT_SOURCE_DIR}/cmake/build_config.h.in
               ${PROJECT_BINARY_DIR}/generated/sarseg/build_config.h @ONLY)
