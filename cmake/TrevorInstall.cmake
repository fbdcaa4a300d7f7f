# Install rules and the CMake package: consumers write
#   find_package(trevor REQUIRED)
#   target_link_libraries(app PRIVATE trevor::trevor)
include(CMakePackageConfigHelpers)

set(TREVOR_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/trevor")

install(TARGETS trevor EXPORT trevorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY libtrevor/include/trevor "${PROJECT_BINARY_DIR}/libtrevor/generated/include/trevor"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT trevorTargets NAMESPACE trevor:: DESTINATION ${TREVOR_CMAKE_DIR})

configure_package_config_file(cmake/trevorConfig.cmake.in
  "${PROJECT_BINARY_DIR}/trevorConfig.cmake"
  INSTALL_DESTINATION ${TREVOR_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/trevorConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/trevorConfig.cmake"
  "${PROJECT_BINARY_DIR}/trevorConfigVersion.cmake"
  cmake/FindSOCI.cmake
  cmake/FindLibZip.cmake
  cmake/FindCSV.cmake
  cmake/FindLibMagic.cmake
  DESTINATION ${TREVOR_CMAKE_DIR})
