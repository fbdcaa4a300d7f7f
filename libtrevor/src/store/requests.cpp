#include "store/requests.hpp"

#include <algorithm>

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

// Facts about the request (airlock_requests, unaliased so the same list works
// in a SELECT and in an UPDATE's RETURNING) and about the actor (:actor).
#define TREVOR_REQUEST_FACTS                                                                  \
  ", (SELECT p.status FROM projects p WHERE p.id = airlock_requests.project_id)"              \
  ", (SELECT CASE WHEN u.active THEN 1 ELSE 0 END FROM users u WHERE u.id = :actor)"          \
  ", (SELECT COALESCE(SUM(CASE m.role WHEN 'researcher' THEN 1 WHEN 'output_checker' THEN 2 " \
  "ELSE 4 END), 0) FROM project_memberships m WHERE m.user_id = :actor2 "                     \
  "AND m.project_id = airlock_requests.project_id)"                                           \
  ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "        \
  "AND o.state <> 'SUPERSEDED')"                                                              \
  ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "        \
  "AND o.state = 'PENDING')"                                                                  \
  ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "        \
  "AND o.state = 'CHANGES_REQUESTED')"                                                        \
  ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "        \
  "AND o.state <> 'SUPERSEDED' AND o.checksum_sha256 = '')"                                   \
  ", (SELECT {list:c.user_id} FROM (SELECT DISTINCT m.user_id FROM project_memberships m "    \
  "WHERE m.project_id = airlock_requests.project_id AND m.role <> 'researcher') c)"           \
  ", (SELECT {list:m.user_id} FROM project_memberships m JOIN users u ON u.id = m.user_id "   \
  "WHERE m.project_id = airlock_requests.project_id AND m.role = 'researcher' AND u.active)"

role_set roles_from_mask(std::int64_t mask) {
  return {(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
}

std::vector<uuid> uuid_list(const std::string& joined) {
  std::vector<uuid> out;
  std::size_t start = 0;
  while (start < joined.size()) {
    auto comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    out.push_back(
        uuid::parse_or_throw(std::string_view(joined).substr(start, comma - start), "member id"));
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

request_facts read_facts(const soci::row& r) {
  constexpr std::size_t base = 12;  // the request's own columns come first
  request_facts f;
  f.request = read_request(r);
  f.project = parse_enum_or_throw<project_status>(get_str(r, base));
  if (!is_null(r, base + 1)) f.actor_active = get_i64(r, base + 1) != 0;
  f.roles = roles_from_mask(get_i64(r, base + 2));
  f.live_objects = get_i64(r, base + 3);
  f.pending_objects = get_i64(r, base + 4);
  f.changes_requested_objects = get_i64(r, base + 5);
  f.unconfirmed_slots = get_i64(r, base + 6);
  f.checkers = uuid_list(get_str(r, base + 7));
  f.researchers = uuid_list(get_str(r, base + 8));
  return f;
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
  return query_one_prepared(
      c, read_request, "SELECT " TREVOR_REQUEST_COLUMNS " FROM airlock_requests WHERE id = :id",
      key);
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

std::vector<std::pair<request_status, std::int64_t>> zero_status_counts() {
  std::vector<std::pair<request_status, std::int64_t>> out;
  for (std::size_t i = 0; i < enum_names<request_status>::names.size(); ++i)
    out.emplace_back(static_cast<request_status>(i), 0);
  return out;
}

std::vector<std::pair<request_status, std::int64_t>> count_requests_by_status(connection& c) {
  auto out = zero_status_counts();
  using row_t = std::pair<std::string, std::int64_t>;
  const auto rows = query_all<row_t>(
      c, "SELECT status, COUNT(*) FROM airlock_requests GROUP BY status", [](const soci::row& r) {
        return row_t{get_str(r, 0), get_i64(r, 1)};
      });
  for (const auto& [status, n] : rows)
    out[static_cast<std::size_t>(parse_enum_or_throw<request_status>(status))].second = n;
  return out;
}

#define TREVOR_TRANSITION_UPDATE                                               \
  "UPDATE airlock_requests SET updated_at = {now}, status = :to, "             \
  "review_round = review_round + :bump, "                                      \
  "submitted_at = CASE WHEN :submitted = 1 THEN {now} ELSE submitted_at END, " \
  "closed_at = CASE WHEN :closed = 1 THEN {now} ELSE closed_at END "           \
  "WHERE id = :id AND status = :from RETURNING " TREVOR_REQUEST_COLUMNS

std::optional<airlock_request> transition_request(connection& c, const uuid& id,
                                                  request_status from, request_status to,
                                                  const transition_effects& effects) {
  const std::string key = id.str();
  const std::string from_s(to_string(from)), to_s(to_string(to));
  int bump = effects.start_new_round ? 1 : 0;
  int submitted = effects.stamp_submitted ? 1 : 0;
  int closed = effects.stamp_closed ? 1 : 0;
  return query_one_prepared(c, read_request, TREVOR_TRANSITION_UPDATE, to_s, bump, submitted,
                            closed, key, from_s);
}

std::optional<request_facts> transition_request_facts(connection& c, const uuid& id,
                                                      request_status from, request_status to,
                                                      const transition_effects& effects,
                                                      const uuid& actor_id) {
  const std::string key = id.str(), actor = actor_id.str();
  const std::string from_s(to_string(from)), to_s(to_string(to));
  int bump = effects.start_new_round ? 1 : 0;
  int submitted = effects.stamp_submitted ? 1 : 0;
  int closed = effects.stamp_closed ? 1 : 0;
  return query_one_prepared(c, read_facts, TREVOR_TRANSITION_UPDATE TREVOR_REQUEST_FACTS, to_s,
                            bump, submitted, closed, key, from_s, actor, actor);
}

std::optional<request_facts> load_request_facts(connection& c, const uuid& id, const uuid& actor_id,
                                                bool lock) {
  const std::string key = id.str(), actor = actor_id.str();
  if (lock)
    return query_one_prepared(c, read_facts,
                              "SELECT " TREVOR_REQUEST_COLUMNS TREVOR_REQUEST_FACTS
                              " FROM airlock_requests WHERE id = :id {lock:airlock_requests}",
                              actor, actor, key);
  return query_one_prepared(c, read_facts,
                            "SELECT " TREVOR_REQUEST_COLUMNS TREVOR_REQUEST_FACTS
                            " FROM airlock_requests WHERE id = :id",
                            actor, actor, key);
}

std::optional<request_facts> load_request_for_reader(connection& c, const uuid& id,
                                                     const uuid& actor_id) {
  const std::string key = id.str(), actor = actor_id.str();
  return query_one_prepared(
      c,
      [](const soci::row& r) {
        constexpr std::size_t base = 12;  // after the request's own columns
        request_facts f;
        f.request = read_request(r);
        if (!is_null(r, base)) f.actor_active = get_i64(r, base) != 0;
        f.roles = roles_from_mask(get_i64(r, base + 1));
        return f;
      },
      "SELECT " TREVOR_REQUEST_COLUMNS
      ", (SELECT CASE WHEN u.active THEN 1 ELSE 0 END FROM users u WHERE u.id = :actor)"
      ", (SELECT COALESCE(SUM(CASE m.role WHEN 'researcher' THEN 1 WHEN 'output_checker' THEN 2 "
      "ELSE 4 END), 0) FROM project_memberships m WHERE m.user_id = :actor2 "
      "AND m.project_id = airlock_requests.project_id) "
      "FROM airlock_requests WHERE id = :id",
      actor, actor, key);
}

std::optional<project_facts> load_project_facts(connection& c, const uuid& project_id,
                                                const uuid& actor_id) {
  const std::string key = project_id.str(), actor = actor_id.str();
  return query_one(
      c,
      [](const soci::row& r) {
        project_facts f;
        f.status = parse_enum_or_throw<project_status>(get_str(r, 0));
        if (!is_null(r, 1)) f.actor_active = get_i64(r, 1) != 0;
        f.roles = roles_from_mask(get_i64(r, 2));
        return f;
      },
      "SELECT p.status, (SELECT CASE WHEN u.active THEN 1 ELSE 0 END FROM users u "
      "WHERE u.id = :actor), (SELECT COALESCE(SUM(CASE m.role WHEN 'researcher' THEN 1 "
      "WHEN 'output_checker' THEN 2 ELSE 4 END), 0) FROM project_memberships m "
      "WHERE m.user_id = :actor2 AND m.project_id = p.id) FROM projects p WHERE p.id = :p",
      actor, actor, key);
}

#define TREVOR_STUCK_SELECT                                                               \
  "SELECT " TREVOR_REQUEST_COLUMNS TREVOR_REQUEST_FACTS                                   \
  " FROM airlock_requests WHERE status IN ('SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW') " \
  "AND updated_at <= {hours_ago::hours} AND NOT EXISTS (SELECT 1 FROM audit_events a "    \
  "WHERE a.request_id = airlock_requests.id AND a.event_type = 'request.stuck' "          \
  "AND a.occurred_at >= airlock_requests.updated_at) ORDER BY updated_at, id"

std::vector<request_facts> stuck_requests(connection& c, long long hours, bool lock) {
  const std::string nobody = uuid().str();
  return query_all<request_facts>(
      c, lock ? TREVOR_STUCK_SELECT " {lock:airlock_requests}" : TREVOR_STUCK_SELECT, read_facts,
      nobody, nobody, hours);
}

}  // namespace trevor::detail
