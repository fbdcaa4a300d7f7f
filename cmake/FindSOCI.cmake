# FindSOCI
# --------
# Debian ships SOCI 4.0 without a CMake package or pkg-config file, so this
# module imports its libraries by hand.
#
# Components: sqlite3, postgresql (plus the always-present core).
# Imported targets: SOCI::core, SOCI::sqlite3, SOCI::postgresql.
# Result variables: SOCI_FOUND, SOCI_INCLUDE_DIR, SOCI_VERSION.

find_path(SOCI_INCLUDE_DIR NAMES soci/soci.h)
find_library(SOCI_core_LIBRARY NAMES soci_core)

if(SOCI_INCLUDE_DIR AND EXISTS "${SOCI_INCLUDE_DIR}/soci/version.h")
  file(STRINGS "${SOCI_INCLUDE_DIR}/soci/version.h" _soci_ver REGEX "^#define SOCI_VERSION [0-9]+")
  string(REGEX REPLACE "^#define SOCI_VERSION ([0-9]+).*" "\\1" _soci_ver "${_soci_ver}")
  math(EXPR _major "${_soci_ver} / 100000")
  math(EXPR _minor "${_soci_ver} / 100 % 1000")
  math(EXPR _patch "${_soci_ver} % 100")
  set(SOCI_VERSION "${_major}.${_minor}.${_patch}")
endif()

set(_soci_required_vars SOCI_INCLUDE_DIR SOCI_core_LIBRARY)
foreach(_c IN LISTS SOCI_FIND_COMPONENTS)
  find_library(SOCI_${_c}_LIBRARY NAMES soci_${_c})
  if(SOCI_${_c}_LIBRARY)
    set(SOCI_${_c}_FOUND TRUE)
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SOCI
  REQUIRED_VARS ${_soci_required_vars}
  VERSION_VAR SOCI_VERSION
  HANDLE_COMPONENTS)

if(SOCI_FOUND AND NOT TARGET SOCI::core)
  add_library(SOCI::core UNKNOWN IMPORTED)
  set_target_properties(SOCI::core PROPERTIES
    IMPORTED_LOCATION "${SOCI_core_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
  if(SOCI_sqlite3_FOUND)
    find_package(SQLite3 REQUIRED)
    add_library(SOCI::sqlite3 UNKNOWN IMPORTED)
    set_target_properties(SOCI::sqlite3 PROPERTIES
      IMPORTED_LOCATION "${SOCI_sqlite3_LIBRARY}"
      INTERFACE_LINK_LIBRARIES "SOCI::core;SQLite::SQLite3")
  endif()
  if(SOCI_postgresql_FOUND)
    # soci-postgresql.h includes <libpq-fe.h>.
    find_package(PostgreSQL REQUIRED)
    add_library(SOCI::postgresql UNKNOWN IMPORTED)
    set_target_properties(SOCI::postgresql PROPERTIES
      IMPORTED_LOCATION "${SOCI_postgresql_LIBRARY}"
      INTERFACE_LINK_LIBRARIES "SOCI::core;PostgreSQL::PostgreSQL")
  endif()
endif()

mark_as_advanced(SOCI_INCLUDE_DIR SOCI_core_LIBRARY SOCI_sqlite3_LIBRARY SOCI_postgresql_LIBRARY)
