#pragma once
// RFC 8785 JSON Canonicalization Scheme (JCS) — internal.
//
// canonical_json(v) is the one byte string JCS defines for a JSON value:
//   - no whitespace;
//   - object members sorted by their names as arrays of UTF-16 code units;
//   - strings with only the escapes JCS allows: \" \\ \b \t \n \f \r, other
//     code points below U+0020 as \u00xx (lower-case hex), everything else
//     (including '/', U+007F and all non-ASCII) as its UTF-8 bytes;
//   - numbers as ECMAScript Number.prototype.toString of the IEEE-754 double
//     (shortest round-trip digits, exponent form outside [1e-7, 1e21), "e+"
//     and "e-", -0 written 0). Integers held as int64/uint64 are converted to
//     double first, as JCS treats every JSON number (beyond 2^53 they lose
//     precision, exactly as in any JCS implementation).
// invalid_argument for NaN or an infinity and for a string or name that is
// not valid UTF-8.
//
// audit_leaf_bytes(f) is the leaf of one audit event in the audit tree
// (libtrevor/README.md, "Verifiable audit trail"): the canonical JSON of the object
// {id, seq, occurred_at, event_type, actor, request_id, project_id, payload}.
// Absent values are written null; times and ids are strings exactly as the
// caller gives them; payload is the stored JSON text, parsed and
// canonicalised with parse_json_exactly (invalid_argument when it is not
// JSON). seq must be within
// ±2^53 so that it survives as a JSON number.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace trevor::detail {

/// The RFC 8785 canonical form of `v`.
std::string canonical_json(const boost::json::value& v);

/// JSON text parsed with each number the correctly rounded double of its
/// decimal text (boost::json::parse alone can be off by one ulp); refuses
/// text that is not JSON, a number beyond the range of a double and an
/// object with a duplicate member name (RFC 8785 requires I-JSON).
boost::json::value parse_json_exactly(std::string_view json_text);
/// canonical_json(parse_json_exactly(json_text)).
std::string canonical_json_text(std::string_view json_text);

/// ECMAScript Number.prototype.toString(d) for a finite double.
std::string es_number_to_string(double d);

struct audit_leaf_fields {
  std::string id;
  std::int64_t seq = 0;
  std::string occurred_at;
  std::string event_type;
  std::optional<std::string> actor;
  std::optional<std::string> request_id;
  std::optional<std::string> project_id;
  std::optional<std::string> payload_json;  // JSON text as stored
};

/// The canonical leaf bytes of one audit event.
std::string audit_leaf_bytes(const audit_leaf_fields& f);

}  // namespace trevor::detail
