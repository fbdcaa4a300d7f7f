# FindLibZip
# ----------
# Debian's libzip-dev ships a CMake package whose targets name the zipcmp,
# zipmerge and ziptool programs, which are in other packages: loading it
# fails unless those are installed. This module imports the library alone.
#
# Imported target: LibZip::LibZip. Result variables: LibZip_FOUND,
# LibZip_INCLUDE_DIR, LibZip_VERSION.

find_path(LibZip_INCLUDE_DIR NAMES zip.h)
find_library(LibZip_LIBRARY NAMES zip)
find_path(LibZip_CONF_DIR NAMES zipconf.h HINTS "${LibZip_INCLUDE_DIR}"
  PATH_SUFFIXES x86_64-linux-gnu aarch64-linux-gnu)

if(LibZip_CONF_DIR AND EXISTS "${LibZip_CONF_DIR}/zipconf.h")
  file(STRINGS "${LibZip_CONF_DIR}/zipconf.h" _zip_ver REGEX "^#define LIBZIP_VERSION \"")
  string(REGEX REPLACE "^#define LIBZIP_VERSION \"([^\"]+)\".*" "\\1" LibZip_VERSION "${_zip_ver}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibZip
  REQUIRED_VARS LibZip_LIBRARY LibZip_INCLUDE_DIR
  VERSION_VAR LibZip_VERSION)

if(LibZip_FOUND AND NOT TARGET LibZip::LibZip)
  add_library(LibZip::LibZip UNKNOWN IMPORTED)
  set_target_properties(LibZip::LibZip PROPERTIES
    IMPORTED_LOCATION "${LibZip_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibZip_INCLUDE_DIR}")
endif()
mark_as_advanced(LibZip_INCLUDE_DIR LibZip_CONF_DIR LibZip_LIBRARY)
