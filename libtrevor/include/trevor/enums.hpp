#pragma once
// The domain's closed sets of values and their text forms.
//
// The text forms are a contract: they are stored in the database and appear in
// the HTTP API (request status and object state upper case, all else lower
// case). Each enum is contiguous from 0 and has one table of names below;
// to_string() and parse_enum() work from that table alone.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace trevor {

enum class request_status {
  draft,
  submitted,
  agent_review,
  human_review,
  changes_requested,
  approved,
  releasing,
  released,
  rejected,
  withdrawn,
  revoked,  // a release withdrawn after the fact (egress): its package link is refused
};
enum class direction { egress, ingress };
enum class object_state { pending, approved, changes_requested, rejected, superseded };
enum class output_type { tabular, figure, model, code, report, other };
enum class membership_role { researcher, output_checker, senior_checker };
enum class reviewer_type { agent, human };
enum class review_decision { approved, changes_requested, rejected, escalated };
enum class project_status { active, archived };

template <class E>
struct enum_names;  // specialised below: `what` and `names`

template <>
struct enum_names<request_status> {
  static constexpr std::string_view what = "request status";
  static constexpr std::array<std::string_view, 11> names{
      "DRAFT",    "SUBMITTED", "AGENT_REVIEW", "HUMAN_REVIEW", "CHANGES_REQUESTED",
      "APPROVED", "RELEASING", "RELEASED",     "REJECTED",     "WITHDRAWN",
      "REVOKED"};
};
template <>
struct enum_names<direction> {
  static constexpr std::string_view what = "direction";
  static constexpr std::array<std::string_view, 2> names{"egress", "ingress"};
};
template <>
struct enum_names<object_state> {
  static constexpr std::string_view what = "object state";
  static constexpr std::array<std::string_view, 5> names{"PENDING", "APPROVED", "CHANGES_REQUESTED",
                                                         "REJECTED", "SUPERSEDED"};
};
template <>
struct enum_names<output_type> {
  static constexpr std::string_view what = "output type";
  static constexpr std::array<std::string_view, 6> names{"tabular", "figure", "model",
                                                         "code",    "report", "other"};
};
template <>
struct enum_names<membership_role> {
  static constexpr std::string_view what = "membership role";
  static constexpr std::array<std::string_view, 3> names{"researcher", "output_checker",
                                                         "senior_checker"};
};
template <>
struct enum_names<reviewer_type> {
  static constexpr std::string_view what = "reviewer type";
  static constexpr std::array<std::string_view, 2> names{"agent", "human"};
};
template <>
struct enum_names<review_decision> {
  static constexpr std::string_view what = "review decision";
  static constexpr std::array<std::string_view, 4> names{"approved", "changes_requested",
                                                         "rejected", "escalated"};
};
template <>
struct enum_names<project_status> {
  static constexpr std::string_view what = "project status";
  static constexpr std::array<std::string_view, 2> names{"active", "archived"};
};

template <class E>
constexpr std::string_view to_string(E value) noexcept {
  return enum_names<E>::names[static_cast<std::size_t>(value)];
}

/// Exact, case-sensitive match against the names table.
template <class E>
constexpr std::optional<E> parse_enum(std::string_view text) noexcept {
  const auto& names = enum_names<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<E>(i);
  return std::nullopt;
}

namespace detail {
[[noreturn]] void throw_bad_enum(std::string_view what, std::string_view text,
                                 const std::string_view* names, std::size_t count);
}

/// parse_enum(), or trevor::error(invalid_argument) listing the allowed values.
template <class E>
E parse_enum_or_throw(std::string_view text) {
  if (auto v = parse_enum<E>(text)) return *v;
  detail::throw_bad_enum(enum_names<E>::what, text, enum_names<E>::names.data(),
                         enum_names<E>::names.size());
}

}  // namespace trevor
