# Install rules: headers, the exported moejit:: targets, a package config and a version file.
include(CMakePackageConfigHelpers)

set(MOEJIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/moejit)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/moejit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
get_property(MOEJIT_EXPORTED_TARGETS GLOBAL PROPERTY MOEJIT_EXPORTED_TARGETS)
install(TARGETS moejit_headers ${MOEJIT_EXPORTED_TARGETS}
  EXPORT moejitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT moejitTargets NAMESPACE moejit:: DESTINATION ${MOEJIT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/moejitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/moejitConfig.cmake INSTALL_DESTINATION ${MOEJIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/moejitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/moejitConfig.cmake ${PROJECT_BINARY_DIR}/moejitConfigVersion.cmake
  DESTINATION ${MOEJIT_CMAKE_DIR})
