# Install rules and the CMake package: another project does
#   find_package(sarseg CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE sarseg::infer)
# Installed: the public headers (with the generated build_config.h), every module library (the
# modules register themselves in sarseg_add_module, so this file needs no module list), the
# program, sarsegTargets.cmake (namespace sarseg::) and sarsegConfig[Version].cmake.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SARSEG_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sarseg"
    CACHE STRING "Where the sarseg CMake package is installed (relative to the prefix)")

get_property(SARSEG_MODULE_TARGETS GLOBAL PROPERTY SARSEG_MODULE_TARGETS)
# Not modules, but referenced by them: the torch runtime and its target, and the warning flags
# (a PRIVATE link of a static library is exported as $<LINK_ONLY:...>, so it must exist there).
set_target_properties(sarseg_torch_pch PROPERTIES EXPORT_NAME torch_pch)
set_target_properties(sarseg_torch_base PROPERTIES EXPORT_NAME torch_base)
set_target_properties(sarseg_warnings PROPERTIES EXPORT_NAME warnings)
# The installed program finds a LibTorch outside the system directories the way the build did.
set_target_properties(sarseg PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS ${SARSEG_MODULE_TARGETS} sarseg_torch_pch sarseg_torch_base sarseg_warnings sarseg
  EXPORT sarsegTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/sarseg DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/generated/sarseg/build_config.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sarseg)
install(EXPORT sarsegTargets
  NAMESPACE sarseg::
  FILE sarsegTargets.cmake
  DESTINATION ${SARSEG_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sarsegConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/sarsegConfig.cmake
  INSTALL_DESTINATION ${SARSEG_INSTALL_CMAKEDIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/sarsegConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/sarsegConfig.cmake
              ${PROJECT_BINARY_DIR}/package/sarsegConfigVersion.cmake
        DESTINATION ${SARSEG_INSTALL_CMAKEDIR})
