#include "store/reviews.hpp"

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "store/multi_insert.hpp"
#include "store/query.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

[[noreturn]] void bad_findings(const uuid& review_id, std::string_view what) {
  throw error(errc::internal,
              fmt::format("review {}: stored findings are malformed: {}", review_id.str(), what));
}

}  // namespace

/// The per-object decisions a human review's findings hold (the format
/// findings_json_of() writes); a malformed entry is an error, never skipped.
std::vector<object_decision> read_object_decisions(const uuid& review_id, std::string_view json) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(json, ec);
  if (ec || !v.is_array()) bad_findings(review_id, "not a JSON array");
  std::vector<object_decision> out;
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    const auto& item = v.as_array()[i];
    const auto* o = item.if_object();
    const auto* id = o ? o->if_contains("object_id") : nullptr;
    const auto* decision = o ? o->if_contains("decision") : nullptr;
    const auto* feedback = o ? o->if_contains("feedback") : nullptr;
    std::optional<uuid> parsed_id;
    std::optional<review_decision> parsed_decision;
    if (id && id->is_string()) parsed_id = uuid::parse(id->as_string());
    if (decision && decision->is_string())
      parsed_decision = parse_enum<review_decision>(decision->as_string());
    if (!parsed_id || !parsed_decision || (feedback && !feedback->is_string()))
      bad_findings(review_id, fmt::format("entry {} is not {{object_id, decision, feedback}}", i));
    out.push_back({*parsed_id, *parsed_decision,
                   feedback ? std::string(feedback->as_string()) : std::string()});
  }
  return out;
}

std::string findings_json_of(const std::vector<object_decision>& decisions) {
  boost::json::array a;
  for (const auto& d : decisions)
    a.push_back({{"object_id", d.object_id.str()},
                 {"decision", to_string(d.decision)},
                 {"feedback", d.feedback}});
  return boost::json::serialize(a);
}

review insert_review(connection& c, const review& v) {
  static constexpr auto sql =
      "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision, "
      "accepted_agent_findings, summary, findings) VALUES (:id, :request, :round, :type, "
      ":reviewer, :decision, :accepted, :summary, :findings) RETURNING " +
      review_row::columns;
  const std::string id = v.id.str(), request = v.request_id.str();
  long long round = v.round;
  const std::string type(to_string(v.reviewer_type)), decision(to_string(v.decision));
  nullable_text reviewer(v.reviewer_id);
  int accepted = v.accepted_agent_findings ? 1 : 0;
  return *query_one(c, one_time(sql), review_row::read, id, request, round, type,
                    nullable(reviewer), decision, accepted, v.summary, v.findings_json);
}

std::optional<review> find_review(connection& c, const uuid& id) {
  static constexpr auto sql = "SELECT " + review_row::columns + " FROM reviews WHERE id = :id";
  const std::string key = id.str();
  return query_one(c, prepared(sql), review_row::read, key);
}

std::vector<review> list_reviews(connection& c, const uuid& request_id,
                                 std::optional<std::int64_t> round) {
  static constexpr auto sql = "SELECT " + review_row::columns +
                              " FROM reviews WHERE request_id = :r "
                              "AND (:round = 0 OR round = :round2) ORDER BY created_at, id";
  const std::string key = request_id.str();
  long long wanted = round.value_or(0);
  return query_all(c, prepared(sql), review_row::read, key, wanted, wanted);
}

void add_review(write_chain& w, const review& v) {
  std::vector<nullable_text> values;
  const auto text = [&](std::string s) {
    values.emplace_back(std::optional<std::string>(std::move(s)));
  };
  text(v.id.str());
  text(v.request_id.str());
  text(std::to_string(v.round));
  text(std::string(to_string(v.reviewer_type)));
  values.emplace_back(v.reviewer_id);
  text(std::string(to_string(v.decision)));
  text(v.accepted_agent_findings ? "1" : "0");
  text(v.summary);
  text(v.findings_json);
  w.insert(
      "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision, "
      "accepted_agent_findings, summary, findings)",
      "(CAST($ AS {uuid}), CAST($ AS {uuid}), CAST($ AS BIGINT), $, CAST($ AS {uuid}), $, "
      "CAST($ AS {bool}), $, CAST($ AS {json}))",
      1, std::move(values));
}

void guard_round_reviews(write_chain& w, const uuid& request_id, std::int64_t round,
                         std::size_t seen) {
  std::vector<nullable_text> values;
  values.emplace_back(std::optional<std::string>(request_id.str()));
  values.emplace_back(std::optional<std::string>(std::to_string(round)));
  w.guard(
      "SELECT count(*) FROM reviews WHERE request_id = CAST($ AS {uuid}) "
      "AND round = CAST($ AS BIGINT)",
      std::move(values), static_cast<long long>(seen));
}

}  // namespace trevor::detail
