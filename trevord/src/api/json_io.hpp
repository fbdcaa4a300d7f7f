#pragma once
// JSON ⇄ libtrevor values: the field names of trevord/openapi.json and the
// parsing of request bodies with errors that name the field.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "http/http_error.hpp"
#include "trevor/audit.hpp"
#include "trevor/dashboard.hpp"
#include "trevor/directory.hpp"
#include "trevor/inbox.hpp"
#include "trevor/model.hpp"
#include "trevor/notifier.hpp"
#include "trevor/workflow.hpp"

namespace trevord {

namespace json = boost::json;

json::value to_json(const trevor::user& u);
json::value to_json(const trevor::project& p);
json::value to_json(const trevor::membership& m);
json::value to_json(const trevor::airlock_request& r);
json::value to_json(const trevor::request_detail& d);
json::value to_json(const trevor::output_object& o);
json::value to_json(const trevor::object_metadata& m);
json::value to_json(const trevor::review& r);
json::value to_json(const trevor::audit_event& e);
json::value to_json(const trevor::notification& n);
json::value to_json(const trevor::notification_delivery& d);
/// Where the package is kept (`crate_storage_key`) only when `admin`.
json::value to_json(const trevor::release_record& r, bool admin);
json::value to_json(const trevor::delivery& d);
json::value to_json(const trevor::upload_link& l);
json::value to_json(const trevor::overview_item& i);
json::value to_json(const trevor::pipeline_metrics& m);
json::value to_json(const trevor::checker_performance& p);
json::value to_json(const trevor::project_summary& p);

/// The response body's text: boost::json::serialize, except that numbers
/// with a fraction are written as plain decimals (plain_decimal(): "5.4",
/// "0.25", "0.000007"), never in an exponent form ("5.4E0", "7e-06").
std::string to_text(const json::value& v);

/// A finite number as a plain JSON decimal (never an exponent): the
/// shortest digits that read back as `d`, written out ("0.000007",
/// "12000000"). Not finite: "null".
std::string plain_decimal(double d);

template <class T>
json::value to_json(const std::vector<T>& items) {
  json::array a;
  a.reserve(items.size());
  for (const auto& item : items) a.push_back(to_json(item));
  return a;
}

/// Parses embedded JSON text kept by the library (tags, findings, payloads).
json::value parse_stored(std::string_view text);

// Storage internals (blob keys, file system paths) are for tre_admin only.

/// True when a library message may name storage internals: the blob store's
/// and the release packager's errors name keys and paths.
bool names_storage(std::string_view text);
/// What a caller who is not tre_admin reads instead of such a message.
std::string storage_failure_detail(std::string_view request_id);
/// A request's audit trail for `admin`, or for a member: members get every
/// event with `crate_storage_key` left out and a storage failure's `detail`
/// replaced (see names_storage).
json::value audit_trail_json(const std::vector<trevor::audit_event>& events, bool admin);

/// A request body that must be a JSON object. Malformed JSON is 400; a value
/// of the wrong type or a missing required field is 422 naming the field.
class json_body {
 public:
  /// An empty body reads as {}.
  explicit json_body(std::string_view text);
  /// An object already parsed (an item of a list in a body).
  explicit json_body(json::object object) : object_(std::move(object)) {}

  std::string string(std::string_view field) const;  // required
  std::optional<std::string> optional_string(std::string_view field) const;
  trevor::uuid uuid(std::string_view field) const;
  std::optional<bool> optional_bool(std::string_view field) const;
  std::optional<std::int64_t> optional_integer(std::string_view field) const;
  const json::value* find(std::string_view field) const { return object_.if_contains(field); }
  template <class E>
  E enumeration(std::string_view field) const;
  /// Calls `fn(json_body&)` for each object of the array member `field`
  /// (absent: never). 422 when it is not an array of objects — null
  /// included: a list given as null is a client's mistake, never "empty"
  /// (a sync that read it as empty would archive everything); a refusal from
  /// `fn` is reported as "<field>[i].<its detail>".
  template <class Fn>
  void each_object(std::string_view field, Fn&& fn) const;
  /// 422 for any member not in `known`.
  void only(std::initializer_list<std::string_view> known) const;
  const json::object& object() const noexcept { return object_; }

 private:
  json::object object_;
};

/// 422 "<field>: ..." — a well-formed value that is not acceptable.
[[noreturn]] void invalid(std::string_view field, std::string_view what);

/// 422 "<field>: is not valid UTF-8" unless `text` is (every text input is
/// checked before anything is stored; the field's name must be valid itself).
void require_utf8(std::string_view field, std::string_view text);

/// `text` as a UUID, or 422 "<field>: '<text>' is not a UUID".
trevor::uuid parse_id(std::string_view field, std::string_view text);

/// Re-throws a refusal about a list item with the item's place in front.
[[noreturn]] void rethrow_for_item(const http_error& e, std::string_view field, std::size_t index);

/// "a, b, c".
std::string list_of(const std::string_view* names, std::size_t count);

/// The text forms of an enum, "a, b, c".
template <class E>
std::string choices_of() {
  const auto& names = trevor::enum_names<E>::names;
  return list_of(names.data(), names.size());
}

/// 422 "<field>: '<text>' is not one of a, b, c".
[[noreturn]] void invalid_choice(std::string_view field, std::string_view text,
                                 const std::string_view* names, std::size_t count);

/// An enum value from its text form, or 422 listing the allowed values.
template <class E>
E parse_choice(std::string_view field, std::string_view text) {
  if (auto v = trevor::parse_enum<E>(text)) return *v;
  const auto& names = trevor::enum_names<E>::names;
  invalid_choice(field, text, names.data(), names.size());
}

template <class Fn>
void json_body::each_object(std::string_view field, Fn&& fn) const {
  const auto* list = find(field);
  if (!list) return;
  if (list->is_null()) invalid(field, "must be an array, not null (omit it, or send [])");
  if (!list->is_array()) invalid(field, "must be an array");
  std::size_t i = 0;
  for (const auto& item : list->as_array()) {
    if (!item.is_object()) invalid(fmt::format("{}[{}]", field, i), "must be an object");
    try {
      json_body entry(item.as_object());
      fn(entry);
    } catch (const http_error& e) {
      rethrow_for_item(e, field, i);
    }
    ++i;
  }
}

template <class E>
E json_body::enumeration(std::string_view field) const {
  return parse_choice<E>(field, string(field));
}

}  // namespace trevord
