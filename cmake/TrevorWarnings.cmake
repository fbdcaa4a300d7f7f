# trevor::warnings — the warning flags every trevor target builds with, and the
# sanitizer flags when TREVOR_SANITIZE is on. Linked PRIVATE so consumers of the
# installed library are not forced to use them.
add_library(trevor_warnings INTERFACE)
add_library(trevor::warnings ALIAS trevor_warnings)
target_compile_options(trevor_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough
  # Designated initialisers that rely on member defaults are the point, not a slip.
  -Wno-missing-field-initializers
  $<$<BOOL:${TREVOR_WERROR}>:-Werror>)

if(TREVOR_FUZZ)
  # Everything instrumented for coverage; the fuzz targets link libFuzzer.
  set(_trevor_fuzz -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
                   -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${_trevor_fuzz})
  add_link_options(-fsanitize=address,undefined)
elseif(TREVOR_SANITIZE)
  # vptr checks are off: SOCI's backends are built without RTTI-compatible
  # visibility for UBSan and report false positives.
  set(_trevor_san -fsanitize=address,undefined -fno-sanitize=vptr
                  -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${_trevor_san})
  add_link_options(${_trevor_san})
  # GCC's -Wmaybe-uninitialized is unreliable with the sanitizers'
  # instrumentation (GCC's manual says so) and fires inside Boost.Beast's
  # headers at -O1; the uninstrumented builds keep it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(trevor_warnings INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()
