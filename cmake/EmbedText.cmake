# Build-time script: turns a text file into a C++ function returning it.
#
#   cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=ns -DFUNCTION=name -P EmbedText.cmake
#
# Generates `std::string_view ns::name()` holding the file byte for byte.
file(READ "${INPUT}" _text)
string(FIND "${_text}" ")trevor_text\"" _clash)
if(NOT _clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )trevor_text\"")
endif()
get_filename_component(_name "${INPUT}" NAME)
set(_out "// Generated from ${_name} by cmake/EmbedText.cmake. Do not edit.\n#include <string_view>\n\nnamespace ${NAMESPACE} {\n\nstd::string_view ${FUNCTION}() {\n  static constexpr std::string_view text = R\"trevor_text(${_text})trevor_text\";\n  return text;\n}\n\n}  // namespace ${NAMESPACE}\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" _old)
  if(_old STREQUAL _out)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${_out}")
