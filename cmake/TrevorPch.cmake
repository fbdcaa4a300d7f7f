# trevor_precompile(TARGET HEADER...) — precompile the given headers for
# TARGET when TREVOR_PCH is on (the default).
#
# Only the standard library and third-party headers go in: trevor's own
# headers are left out so that each stays self-contained (the header checks
# in tests/CMakeLists.txt build without a PCH). Parsing Boost.JSON, fmt, SOCI,
# Beast and doctest is most of what a clean build spends per source file
# outside the optimiser; tests/README.md ("Build time") has the figures.
function(trevor_precompile target)
  if(TREVOR_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()

# The standard headers nearly every trevor source includes.
set(TREVOR_PCH_STD
  <algorithm> <chrono> <cstdint> <functional> <map> <memory> <mutex> <optional> <string>
  <string_view> <unordered_map> <utility> <variant> <vector>)
