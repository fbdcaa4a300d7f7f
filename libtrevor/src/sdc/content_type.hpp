#pragma once
// What the first bytes of an object are, by libmagic (internal).
#include <string>
#include <string_view>

namespace trevor::detail {

/// libmagic's MIME type of `head` ("text/plain", "application/zip", ...).
/// One libmagic handle per thread, loaded on first use from the system's
/// database. Throws error(internal) when libmagic cannot be initialised.
std::string mime_type_of(std::string_view head);

}  // namespace trevor::detail
