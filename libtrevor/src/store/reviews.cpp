#include "store/reviews.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

#define TREVOR_REVIEW_COLUMNS                                                              \
  "id, request_id, round, reviewer_type, reviewer_id, decision, accepted_agent_findings, " \
  "summary, findings, "                                                                    \
  "{t:created_at}"

review read_review(const soci::row& r) {
  review v;
  v.id = get_uuid(r, 0);
  v.request_id = get_uuid(r, 1);
  v.round = get_i64(r, 2);
  v.reviewer_type = parse_enum_or_throw<reviewer_type>(get_str(r, 3));
  v.reviewer_id = get_opt_uuid(r, 4);
  v.decision = parse_enum_or_throw<review_decision>(get_str(r, 5));
  v.accepted_agent_findings = get_bool(r, 6);
  v.summary = get_str(r, 7);
  v.findings_json = get_str(r, 8);
  v.created_at = get_ts(r, 9);
  return v;
}

}  // namespace

review insert_review(connection& c, const review& v) {
  const std::string id = v.id.str(), request = v.request_id.str();
  long long round = v.round;
  const std::string type(to_string(v.reviewer_type)), decision(to_string(v.decision));
  nullable_text reviewer(v.reviewer_id);
  int accepted = v.accepted_agent_findings ? 1 : 0;
  return *query_one(
      c, read_review,
      "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision, "
      "accepted_agent_findings, summary, findings) VALUES (:id, :request, :round, :type, "
      ":reviewer, :decision, :accepted, :summary, :findings) "
      "RETURNING " TREVOR_REVIEW_COLUMNS,
      id, request, round, type, nullable(reviewer), decision, accepted, v.summary, v.findings_json);
}

std::optional<review> find_review(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one_prepared(c, read_review,
                            "SELECT " TREVOR_REVIEW_COLUMNS " FROM reviews WHERE id = :id", key);
}

std::vector<review> list_reviews(connection& c, const uuid& request_id,
                                 std::optional<std::int64_t> round) {
  const std::string key = request_id.str();
  long long wanted = round.value_or(0);
  return query_all_prepared<review>(c,
                                    "SELECT " TREVOR_REVIEW_COLUMNS
                                    " FROM reviews WHERE request_id = :r "
                                    "AND (:round = 0 OR round = :round2) ORDER BY created_at, id",
                                    read_review, key, wanted, wanted);
}

}  // namespace trevor::detail
