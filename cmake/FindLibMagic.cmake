# FindLibMagic
# ------------
# libmagic (Debian libmagic-dev), which tells what an object's first bytes
# are (content_type_consistent). It ships a pkg-config file but no CMake
# package; this module needs neither.
#
# Imported target: LibMagic::LibMagic. Result variables: LibMagic_FOUND,
# LibMagic_INCLUDE_DIR, LibMagic_VERSION.

find_path(LibMagic_INCLUDE_DIR NAMES magic.h)
find_library(LibMagic_LIBRARY NAMES magic)

if(LibMagic_INCLUDE_DIR AND EXISTS "${LibMagic_INCLUDE_DIR}/magic.h")
  file(STRINGS "${LibMagic_INCLUDE_DIR}/magic.h" _magic_ver REGEX "^#define[ \t]+MAGIC_VERSION[ \t]")
  string(REGEX REPLACE "^#define[ \t]+MAGIC_VERSION[ \t]+([0-9]+).*" "\\1" _magic_num "${_magic_ver}")
  if(_magic_num MATCHES "^[0-9]+$")
    math(EXPR _magic_major "${_magic_num} / 100")
    math(EXPR _magic_minor "${_magic_num} % 100")
    set(LibMagic_VERSION "${_magic_major}.${_magic_minor}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibMagic
  REQUIRED_VARS LibMagic_LIBRARY LibMagic_INCLUDE_DIR
  VERSION_VAR LibMagic_VERSION)

if(LibMagic_FOUND AND NOT TARGET LibMagic::LibMagic)
  add_library(LibMagic::LibMagic UNKNOWN IMPORTED)
  set_target_properties(LibMagic::LibMagic PROPERTIES
    IMPORTED_LOCATION "${LibMagic_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibMagic_INCLUDE_DIR}")
endif()
mark_as_advanced(LibMagic_INCLUDE_DIR LibMagic_LIBRARY)
