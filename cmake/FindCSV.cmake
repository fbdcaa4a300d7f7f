# FindCSV
# -------
# libcsv (Debian libcsv-dev), the RFC 4180 parser behind the SDC table
# checks. It ships no CMake package or pkg-config file.
#
# Imported target: CSV::CSV. Result variables: CSV_FOUND, CSV_INCLUDE_DIR,
# CSV_VERSION.

find_path(CSV_INCLUDE_DIR NAMES csv.h)
find_library(CSV_LIBRARY NAMES csv)

if(CSV_INCLUDE_DIR AND EXISTS "${CSV_INCLUDE_DIR}/csv.h")
  file(STRINGS "${CSV_INCLUDE_DIR}/csv.h" _csv_ver REGEX "^#define CSV_(MAJOR|MINOR|RELEASE) ")
  string(REGEX REPLACE ".*CSV_MAJOR ([0-9]+).*" "\\1" _csv_major "${_csv_ver}")
  string(REGEX REPLACE ".*CSV_MINOR ([0-9]+).*" "\\1" _csv_minor "${_csv_ver}")
  string(REGEX REPLACE ".*CSV_RELEASE ([0-9]+).*" "\\1" _csv_release "${_csv_ver}")
  if(_csv_major MATCHES "^[0-9]+$")
    set(CSV_VERSION "${_csv_major}.${_csv_minor}.${_csv_release}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CSV
  REQUIRED_VARS CSV_LIBRARY CSV_INCLUDE_DIR
  VERSION_VAR CSV_VERSION)

if(CSV_FOUND AND NOT TARGET CSV::CSV)
  add_library(CSV::CSV UNKNOWN IMPORTED)
  set_target_properties(CSV::CSV PROPERTIES
    IMPORTED_LOCATION "${CSV_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CSV_INCLUDE_DIR}")
endif()
mark_as_advanced(CSV_INCLUDE_DIR CSV_LIBRARY)
