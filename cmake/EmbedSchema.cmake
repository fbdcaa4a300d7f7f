# Build-time script: turns the migrations in schema/ into a C++ source file.
#
#   cmake -DSCHEMA_DIR=... -DOUTPUT=... -P EmbedSchema.cmake
#
# Each file NNNN_name.sql becomes one entry {NNNN, "name", "<text>"} of
# trevor::detail::embedded_migrations, in file-name order. The text is kept
# byte for byte; checksums are computed by the library over its normalised form.
file(GLOB _files RELATIVE "${SCHEMA_DIR}" "${SCHEMA_DIR}/[0-9][0-9][0-9][0-9]_*.sql")
list(SORT _files)
set(_body "")
foreach(_f IN LISTS _files)
  string(REGEX MATCH "^([0-9][0-9][0-9][0-9])_(.+)\\.sql$" _m "${_f}")
  set(_id "${CMAKE_MATCH_1}")
  set(_name "${CMAKE_MATCH_2}")
  math(EXPR _id_num "${_id}")
  file(READ "${SCHEMA_DIR}/${_f}" _text)
  string(FIND "${_text}" ")trevor_sql\"" _clash)
  if(NOT _clash EQUAL -1)
    message(FATAL_ERROR "${_f} contains the raw-string delimiter )trevor_sql\"")
  endif()
  string(APPEND _body "    {${_id_num}, \"${_name}\", R\"trevor_sql(${_text})trevor_sql\"},\n")
endforeach()
set(_out "// Generated from schema/ by cmake/EmbedSchema.cmake. Do not edit.\n#include \"migrate/embedded.hpp\"\n\nnamespace trevor::detail {\n\nconst std::vector<embedded_migration>& embedded_migrations() {\n  static const std::vector<embedded_migration> list{\n${_body}  };\n  return list;\n}\n\n}  // namespace trevor::detail\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" _old)
  if(_old STREQUAL _out)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${_out}")
