#pragma once
// trevor::error — the one exception type libtrevor throws.
//
// Every failure carries a code from a closed set (so callers such as trevord
// can map it to a response without parsing text) and a message meant for a
// human: it names what was wrong ("DATABASE_URL: unknown scheme 'mysql'").
// Engine errors are translated into this type in one place (src/db/errors.cpp);
// no SOCI or driver exception escapes the library.

#include <stdexcept>
#include <string>
#include <string_view>

#include "trevor/export.hpp"

namespace trevor {

enum class errc {
  not_found,           // the thing named does not exist (or is not visible)
  forbidden,           // the actor may not do this
  conflict,            // a uniqueness rule, a database rule or a concurrent change
  invalid_transition,  // the workflow does not allow this step from the current state
  invalid_argument,    // malformed or out-of-range input
  unavailable,         // the database cannot be reached or did not answer in time
  internal,            // a bug or an unexpected engine error
};

/// The stable lower-case name of a code ("invalid_transition").
TREVOR_EXPORT std::string_view to_string(errc code) noexcept;

class TREVOR_EXPORT error : public std::runtime_error {
 public:
  error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}

  errc code() const noexcept { return code_; }

  /// True for engine errors that a caller may retry as a whole transaction
  /// (PostgreSQL serialization failures and deadlocks, SQLite busy).
  bool retryable() const noexcept { return retryable_; }
  error& set_retryable(bool r) noexcept {
    retryable_ = r;
    return *this;
  }

 private:
  errc code_;
  bool retryable_ = false;
};

}  // namespace trevor
