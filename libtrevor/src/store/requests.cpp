#include "store/requests.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

#define TREVOR_REQUEST_COLUMNS                                                      \
  "id, project_id, direction, status, title, description, owner_id, review_round, " \
  "{t:submitted_at}, {t:closed_at}, {t:created_at}, {t:updated_at}"

airlock_request read_request(const soci::row& r) {
  airlock_request q;
  q.id = get_uuid(r, 0);
  q.project_id = get_uuid(r, 1);
  q.direction = parse_enum_or_throw<direction>(get_str(r, 2));
  q.status = parse_enum_or_throw<request_status>(get_str(r, 3));
  q.title = get_str(r, 4);
  q.description = get_str(r, 5);
  q.owner_id = get_uuid(r, 6);
  q.review_round = get_i64(r, 7);
  q.submitted_at = get_opt_ts(r, 8);
  q.closed_at = get_opt_ts(r, 9);
  q.created_at = get_ts(r, 10);
  q.updated_at = get_ts(r, 11);
  return q;
}

}  // namespace

airlock_request insert_request(connection& c, const airlock_request& q) {
  const std::string id = q.id.str(), project = q.project_id.str(), owner = q.owner_id.str();
  const std::string dir(to_string(q.direction));
  return *query_one(
      c, read_request,
      "INSERT INTO airlock_requests (id, project_id, direction, title, description, owner_id) "
      "VALUES (:id, :project, :direction, :title, :description, :owner) "
      "RETURNING " TREVOR_REQUEST_COLUMNS,
      id, project, dir, q.title, q.description, owner);
}

std::optional<airlock_request> find_request(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one(c, read_request,
                   "SELECT " TREVOR_REQUEST_COLUMNS " FROM airlock_requests WHERE id = :id", key);
}

std::vector<airlock_request> list_requests(connection& c, const request_filter& f) {
  // Absent filters bind NULL and drop out of the WHERE clause: one statement
  // text for every combination.
  nullable_text project(f.project_id);
  nullable_text status(f.status ? std::optional<std::string>(std::string(to_string(*f.status)))
                                : std::nullopt);
  nullable_text member(f.member_id);
  return query_all<airlock_request>(
      c,
      "SELECT " TREVOR_REQUEST_COLUMNS
      " FROM airlock_requests r "
      "WHERE (CAST(:project AS TEXT) IS NULL OR r.project_id = :project2) "
      "AND (CAST(:status AS TEXT) IS NULL OR r.status = :status2) "
      "AND (CAST(:member AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM project_memberships m "
      "     WHERE m.project_id = r.project_id AND m.user_id = :member2)) "
      "ORDER BY r.created_at DESC, r.id DESC",
      read_request, nullable(project), nullable(project), nullable(status), nullable(status),
      nullable(member), nullable(member));
}

std::optional<airlock_request> transition_request(connection& c, const uuid& id,
                                                  request_status from, request_status to,
                                                  const transition_effects& effects) {
  const std::string key = id.str();
  const std::string from_s(to_string(from)), to_s(to_string(to));
  int bump = effects.start_new_round ? 1 : 0;
  int submitted = effects.stamp_submitted ? 1 : 0;
  int closed = effects.stamp_closed ? 1 : 0;
  return query_one(c, read_request,
                   "UPDATE airlock_requests SET updated_at = {now}, status = :to, "
                   "review_round = review_round + :bump, "
                   "submitted_at = CASE WHEN :submitted = 1 THEN {now} ELSE submitted_at END, "
                   "closed_at = CASE WHEN :closed = 1 THEN {now} ELSE closed_at END "
                   "WHERE id = :id AND status = :from RETURNING " TREVOR_REQUEST_COLUMNS,
                   to_s, bump, submitted, closed, key, from_s);
}

}  // namespace trevor::detail
