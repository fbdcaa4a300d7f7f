#include "store/requests.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

#include "store/multi_insert.hpp"
#include "store/objects.hpp"
#include "store/query.hpp"
#include "store/reviews.hpp"

namespace trevor::detail {
namespace {

/// airlock_requests: the columns every statement reads and their reader.
struct request_row {
  static constexpr sql_text columns{
      "id, project_id, direction, status, title, description, owner_id, review_round, "
      "{t:submitted_at}, {t:closed_at}, {t:created_at}, {t:updated_at}"};

  static airlock_request read(row_reader& r) {
    airlock_request q;
    q.id = r.uuid();
    q.project_id = r.uuid();
    q.direction = r.enum_<direction>();
    q.status = r.enum_<request_status>();
    q.title = r.text();
    q.description = r.text();
    q.owner_id = r.uuid();
    q.review_round = r.i64();
    q.submitted_at = r.opt_ts();
    q.closed_at = r.opt_ts();
    q.created_at = r.ts();
    q.updated_at = r.ts();
    return q;
  }
};

/// Whether the actor (:actor) is an active user; NULL when there is none.
constexpr sql_text actor_active{
    "(SELECT CASE WHEN u.active THEN 1 ELSE 0 END FROM users u WHERE u.id = :actor)"};

/// The actor's (:actor2) roles on project `Project` as a mask: researcher 1,
/// output_checker 2, senior_checker 4.
template <sql_text Project>
constexpr auto role_mask =
    sql_text{
        "(SELECT COALESCE(SUM(CASE m.role WHEN 'researcher' THEN 1 WHEN 'output_checker' THEN 2 "
        "ELSE 4 END), 0) FROM project_memberships m WHERE m.user_id = :actor2 "
        "AND m.project_id = "} +
    Project + ")";

/// What the rules know about the actor on project `Project`: actor_active,
/// role_mask; read with read_actor().
template <sql_text Project>
constexpr auto actor_columns = actor_active + ", " + role_mask<Project>;

role_set roles_from_mask(std::int64_t mask) {
  return {(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
}

/// Reads actor_columns into `active` and `roles`.
void read_actor(row_reader& r, std::optional<bool>& active, role_set& roles) {
  if (const auto a = r.opt_i64()) active = *a != 0;
  roles = roles_from_mask(r.i64());
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

/// A request's row and the facts about it and the actor (:actor, :actor2).
/// The table is unaliased so the same list works in a SELECT and in an
/// UPDATE's RETURNING.
struct facts_row {
  static constexpr auto columns =
      request_row::columns +
      ", (SELECT p.status FROM projects p WHERE p.id = airlock_requests.project_id), " +
      actor_columns<"airlock_requests.project_id"> +
      ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "
      "AND o.state <> 'SUPERSEDED')"
      ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "
      "AND o.state = 'PENDING')"
      ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "
      "AND o.state = 'CHANGES_REQUESTED')"
      ", (SELECT count(*) FROM output_objects o WHERE o.request_id = airlock_requests.id "
      "AND o.state <> 'SUPERSEDED' AND o.checksum_sha256 = '')"
      ", (SELECT {list:c.user_id} FROM (SELECT DISTINCT m.user_id FROM project_memberships m "
      "WHERE m.project_id = airlock_requests.project_id AND m.role <> 'researcher') c)"
      ", (SELECT {list:m.user_id} FROM project_memberships m JOIN users u ON u.id = m.user_id "
      "WHERE m.project_id = airlock_requests.project_id AND m.role = 'researcher' AND u.active)";

  static request_facts read(row_reader& r) {
    request_facts f;
    f.request = request_row::read(r);
    f.project = r.enum_<project_status>();
    read_actor(r, f.actor_active, f.roles);
    f.live_objects = r.i64();
    f.pending_objects = r.i64();
    f.changes_requested_objects = r.i64();
    f.unconfirmed_slots = r.i64();
    f.checkers = uuid_list(r.text());
    f.researchers = uuid_list(r.text());
    return f;
  }
};

/// A request's row and only what deciding whether the actor may read it
/// needs (actor_active, roles).
struct reader_facts_row {
  static constexpr auto columns =
      request_row::columns + ", " + actor_columns<"airlock_requests.project_id">;

  static request_facts read(row_reader& r) {
    request_facts f;
    f.request = request_row::read(r);
    read_actor(r, f.actor_active, f.roles);
    return f;
  }
};

/// A project's status and the actor's facts on it.
struct project_facts_row {
  static constexpr auto columns = sql_text{"p.status, "} + actor_columns<"p.id">;

  static project_facts read(row_reader& r) {
    project_facts f;
    f.status = r.enum_<project_status>();
    read_actor(r, f.actor_active, f.roles);
    return f;
  }
};

// The conditional update of every transition; RETURNING follows.
constexpr sql_text transition_update{
    "UPDATE airlock_requests SET updated_at = {now}, status = :to, "
    "review_round = review_round + :bump, "
    "submitted_at = CASE WHEN :submitted = 1 THEN {now} ELSE submitted_at END, "
    "closed_at = CASE WHEN :closed = 1 THEN {now} ELSE closed_at END "
    "WHERE id = :id AND status = :from RETURNING "};

constexpr auto stuck_select =
    "SELECT " + facts_row::columns +
    " FROM airlock_requests WHERE status IN ('SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW') "
    "AND updated_at <= {hours_ago::hours} AND NOT EXISTS (SELECT 1 FROM audit_events a "
    "WHERE a.request_id = airlock_requests.id AND a.event_type = 'request.stuck' "
    "AND a.occurred_at >= airlock_requests.updated_at) ORDER BY updated_at, id";

}  // namespace

airlock_request insert_request(connection& c, const airlock_request& q) {
  static constexpr auto sql =
      "INSERT INTO airlock_requests (id, project_id, direction, title, description, owner_id) "
      "VALUES (:id, :project, :direction, :title, :description, :owner) RETURNING " +
      request_row::columns;
  const std::string id = q.id.str(), project = q.project_id.str(), owner = q.owner_id.str();
  const std::string dir(to_string(q.direction));
  return *query_one(c, one_time(sql), request_row::read, id, project, dir, q.title, q.description,
                    owner);
}

std::optional<airlock_request> find_request(connection& c, const uuid& id) {
  static constexpr auto sql =
      "SELECT " + request_row::columns + " FROM airlock_requests WHERE id = :id";
  const std::string key = id.str();
  return query_one(c, prepared(sql), request_row::read, key);
}

std::vector<airlock_request> list_requests(connection& c, const request_filter& f) {
  // Absent filters bind NULL and drop out of the WHERE clause: one statement
  // text for every combination.
  static constexpr auto sql =
      "SELECT " + request_row::columns +
      " FROM airlock_requests r "
      "WHERE (CAST(:project AS TEXT) IS NULL OR r.project_id = :project2) "
      "AND (CAST(:status AS TEXT) IS NULL OR r.status = :status2) "
      "AND (CAST(:member AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM project_memberships m "
      "     WHERE m.project_id = r.project_id AND m.user_id = :member2)) "
      "AND (CAST(:before_at AS TEXT) IS NULL OR r.created_at < :before_at2 "
      "     OR (r.created_at = :before_at3 AND r.id < :before_id)) "
      "ORDER BY r.created_at DESC, r.id DESC LIMIT :n";
  nullable_text project(f.project_id);
  nullable_text status(f.status ? std::optional<std::string>(std::string(to_string(*f.status)))
                                : std::nullopt);
  nullable_text member(f.member_id);
  nullable_text before_at(f.before ? std::optional<timestamp>(f.before->first) : std::nullopt);
  nullable_text before_id(f.before ? std::optional<uuid>(f.before->second) : std::nullopt);
  long long n =
      f.limit == 0 ? std::numeric_limits<long long>::max() : static_cast<long long>(f.limit);
  return query_all(c, one_time(sql), request_row::read, nullable(project), nullable(project),
                   nullable(status), nullable(status), nullable(member), nullable(member),
                   nullable(before_at), nullable(before_at), nullable(before_at),
                   nullable(before_id), n);
}

std::vector<std::pair<request_status, std::int64_t>> zero_status_counts() {
  std::vector<std::pair<request_status, std::int64_t>> out;
  for (std::size_t i = 0; i < enum_names<request_status>::names.size(); ++i)
    out.emplace_back(static_cast<request_status>(i), 0);
  return out;
}

std::vector<std::pair<request_status, std::int64_t>> count_requests_by_status(connection& c) {
  auto out = zero_status_counts();
  const auto rows =
      query_all(c, one_time("SELECT status, COUNT(*) FROM airlock_requests GROUP BY status"),
                [](row_reader& r) {
                  return std::pair{r.enum_<request_status>(), r.i64()};
                });
  for (const auto& [status, n] : rows) out[static_cast<std::size_t>(status)].second = n;
  return out;
}

std::optional<airlock_request> transition_request(connection& c, const uuid& id,
                                                  request_status from, request_status to,
                                                  const transition_effects& effects) {
  static constexpr auto sql = transition_update + request_row::columns;
  const std::string key = id.str();
  const std::string from_s(to_string(from)), to_s(to_string(to));
  int bump = effects.start_new_round ? 1 : 0;
  int submitted = effects.stamp_submitted ? 1 : 0;
  int closed = effects.stamp_closed ? 1 : 0;
  return query_one(c, prepared(sql), request_row::read, to_s, bump, submitted, closed, key, from_s);
}

std::optional<request_facts> transition_request_facts(connection& c, const uuid& id,
                                                      request_status from, request_status to,
                                                      const transition_effects& effects,
                                                      const uuid& actor_id) {
  static constexpr auto sql = transition_update + facts_row::columns;
  const std::string key = id.str(), actor = actor_id.str();
  const std::string from_s(to_string(from)), to_s(to_string(to));
  int bump = effects.start_new_round ? 1 : 0;
  int submitted = effects.stamp_submitted ? 1 : 0;
  int closed = effects.stamp_closed ? 1 : 0;
  return query_one(c, prepared(sql), facts_row::read, to_s, bump, submitted, closed, key, from_s,
                   actor, actor);
}

std::optional<request_facts> load_request_facts(connection& c, const uuid& id, const uuid& actor_id,
                                                bool lock) {
  static constexpr auto sql =
      "SELECT " + facts_row::columns + " FROM airlock_requests WHERE id = :id";
  static constexpr auto locked = sql + " {lock:airlock_requests}";
  const std::string key = id.str(), actor = actor_id.str();
  if (lock) return query_one(c, prepared(locked), facts_row::read, actor, actor, key);
  return query_one(c, prepared(sql), facts_row::read, actor, actor, key);
}

std::optional<request_facts> load_request_for_reader(connection& c, const uuid& id,
                                                     const uuid& actor_id) {
  static constexpr auto sql =
      "SELECT " + reader_facts_row::columns + " FROM airlock_requests WHERE id = :id";
  const std::string key = id.str(), actor = actor_id.str();
  return query_one(c, prepared(sql), reader_facts_row::read, actor, actor, key);
}

std::optional<project_facts> load_project_facts(connection& c, const uuid& project_id,
                                                const uuid& actor_id) {
  static constexpr auto sql =
      "SELECT " + project_facts_row::columns + " FROM projects p WHERE p.id = :p";
  const std::string key = project_id.str(), actor = actor_id.str();
  return query_one(c, prepared(sql), project_facts_row::read, actor, actor, key);
}

std::vector<request_facts> stuck_requests(connection& c, long long hours, bool lock) {
  static constexpr auto locked = stuck_select + " {lock:airlock_requests}";
  const std::string nobody = uuid().str();
  if (lock) return query_all(c, one_time(locked), facts_row::read, nobody, nobody, hours);
  return query_all(c, one_time(stuck_select), facts_row::read, nobody, nobody, hours);
}

long long agent_review_failures(connection& c, const uuid& request_id) {
  static constexpr sql_text sql{
      "SELECT count(*) FROM audit_events a WHERE a.request_id = :r "
      "AND a.event_type = 'request.agent_review_failed' AND a.seq > (SELECT COALESCE(MAX(s.seq), "
      "0) "
      "FROM audit_events s WHERE s.request_id = :r2 "
      "AND s.event_type IN ('request.submitted', 'request.resubmitted'))"};
  const std::string r = request_id.str();
  return query_count(c, prepared(sql), r, r);
}

std::vector<airlock_request> agent_reviews_before(connection& c, const timestamp& cutoff) {
  static constexpr auto sql = "SELECT " + request_row::columns +
                              " FROM airlock_requests WHERE status = 'AGENT_REVIEW' "
                              "AND updated_at < :cutoff ORDER BY updated_at, id";
  const std::string at = cutoff.str();
  return query_all(c, one_time(sql), request_row::read, at);
}

std::optional<std::string> latest_event_payload(connection& c, const uuid& request_id,
                                                std::string_view event_type) {
  static constexpr sql_text sql{
      "SELECT payload FROM audit_events WHERE request_id = :r AND event_type = :t "
      "ORDER BY seq DESC LIMIT 1"};
  const std::string r = request_id.str(), t(event_type);
  return query_one(
      c, prepared(sql), [](row_reader& row) { return row.text(); }, r, t);
}

void add_request(write_chain& w, const airlock_request& q) {
  std::vector<nullable_text> values;
  const auto text = [&](std::string v) {
    values.emplace_back(std::optional<std::string>(std::move(v)));
  };
  text(q.id.str());
  text(q.project_id.str());
  text(std::string(to_string(q.direction)));
  text(q.title);
  text(q.description);
  text(q.owner_id.str());
  w.insert("INSERT INTO airlock_requests (id, project_id, direction, title, description, owner_id)",
           "(CAST($ AS {uuid}), CAST($ AS {uuid}), $, $, $, CAST($ AS {uuid}))", 1,
           std::move(values));
}

void add_transition(write_chain& w, const uuid& id, request_status from, request_status to,
                    const transition_effects& effects) {
  static constexpr char sql[] =
      "UPDATE airlock_requests SET updated_at = {now}, status = $, "
      "review_round = review_round + CAST($ AS INTEGER), "
      "submitted_at = CASE WHEN CAST($ AS INTEGER) = 1 THEN {now} ELSE submitted_at END, "
      "closed_at = CASE WHEN CAST($ AS INTEGER) = 1 THEN {now} ELSE closed_at END "
      "WHERE id = CAST($ AS {uuid}) AND status = $";
  const auto text = [](std::string v) {
    return nullable_text(std::optional<std::string>(std::move(v)));
  };
  std::vector<nullable_text> values;
  values.push_back(text(std::string(to_string(to))));
  values.push_back(text(effects.start_new_round ? "1" : "0"));
  values.push_back(text(effects.stamp_submitted ? "1" : "0"));
  values.push_back(text(effects.stamp_closed ? "1" : "0"));
  values.push_back(text(id.str()));
  values.push_back(text(std::string(to_string(from))));
  w.update(sql, std::move(values), 1, "request changed concurrently; retry");
}

namespace {

// Columns of load_review_round(): a kind (0 the request's facts, 1 a review,
// 2 an object), then the facts', the review's and the object's columns, the
// others NULL.
constexpr int facts_columns = 21, review_columns = 10, object_columns = 15;

template <int N>
constexpr auto nulls() {
  if constexpr (N == 1)
    return sql_text{"NULL"};
  else
    return sql_text{"NULL, "} + nulls<N - 1>();
}

// The object columns' NULLs, typed: PostgreSQL resolves the first two
// branches' union before the third, and untyped NULLs would become text.
constexpr sql_text object_nulls{
    "CAST(NULL AS {uuid}), CAST(NULL AS {uuid}), CAST(NULL AS {uuid}), CAST(NULL AS BIGINT), "
    "CAST(NULL AS {uuid}), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), "
    "CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), "
    "CAST(NULL AS {bool}), CAST(NULL AS {uuid}), CAST(NULL AS TEXT)"};

/// list_objects() order.
void sort_objects(std::vector<output_object>& objects) {
  std::sort(objects.begin(), objects.end(), [](const output_object& a, const output_object& b) {
    return std::tuple(a.created_at.micros(), a.logical_object_id, a.version) <
           std::tuple(b.created_at.micros(), b.logical_object_id, b.version);
  });
}

void skip(row_reader& r, int n) {
  for (int i = 0; i < n; ++i) (void)r.opt_text();
}

}  // namespace

std::optional<request_read> load_request_with_objects(connection& c, const uuid& id,
                                                      const uuid& actor_id) {
  constexpr int reader_columns = 14;
  static constexpr auto sql = "SELECT 0, " + reader_facts_row::columns + ", " +
                              nulls<object_columns>() +
                              " FROM airlock_requests WHERE id = :id "
                              "UNION ALL SELECT 1, " +
                              nulls<reader_columns>() + ", " + object_row::columns +
                              " FROM output_objects WHERE request_id = :id2 "
                              "AND state <> 'SUPERSEDED'";
  const std::string key = id.str(), actor = actor_id.str();
  std::optional<request_read> out;
  std::vector<output_object> objects;
  for_each_row(
      c, prepared(sql),
      [&](const soci::row& row) {
        row_reader r(row);
        if (r.i64() == 0) {
          out.emplace();
          out->facts = reader_facts_row::read(r);
          skip(r, object_columns);
        } else {
          skip(r, reader_columns);
          objects.push_back(object_row::read(r));
        }
        r.finish();
      },
      actor, actor, key, key);
  if (!out) return std::nullopt;
  sort_objects(objects);
  out->objects = std::move(objects);
  return out;
}

std::optional<review_round_read> load_review_round(connection& c, const uuid& id,
                                                   const uuid& actor_id) {
  static constexpr auto sql =
      "WITH f AS (SELECT " + facts_row::columns +
      " FROM airlock_requests WHERE id = :id {lock:airlock_requests}) "
      "SELECT 0, f.*, " +
      nulls<review_columns>() + ", " + object_nulls +
      " FROM f "
      "UNION ALL SELECT 1, " +
      nulls<facts_columns>() + ", " + review_row::columns + ", " + object_nulls +
      " FROM reviews WHERE request_id = :id2 AND round = (SELECT f.review_round FROM f) "
      "UNION ALL SELECT 2, " +
      nulls<facts_columns + review_columns>() + ", " + object_row::columns +
      " FROM output_objects WHERE request_id = :id3";
  const std::string key = id.str(), actor = actor_id.str();
  std::optional<review_round_read> out;
  std::vector<review> reviews;
  std::vector<output_object> objects;
  for_each_row(
      c, prepared(sql),
      [&](const soci::row& row) {
        row_reader r(row);
        switch (r.i64()) {
          case 0:
            out.emplace();
            out->facts = facts_row::read(r);
            skip(r, review_columns + object_columns);
            break;
          case 1:
            skip(r, facts_columns);
            reviews.push_back(review_row::read(r));
            skip(r, object_columns);
            break;
          default:
            skip(r, facts_columns + review_columns);
            objects.push_back(object_row::read(r));
            break;
        }
        r.finish();
      },
      actor, actor, key, key, key);
  if (!out) return std::nullopt;
  std::sort(reviews.begin(), reviews.end(), [](const review& a, const review& b) {
    return std::pair(a.created_at.micros(), a.id) < std::pair(b.created_at.micros(), b.id);
  });
  sort_objects(objects);
  out->reviews = std::move(reviews);
  out->objects = std::move(objects);
  return out;
}

void begin_release_heartbeat(connection& c, const uuid& request_id, const uuid& release_id,
                             const std::string& holder) {
  const std::string r = request_id.str(), rel = release_id.str();
  execute(c,
          one_time("INSERT INTO release_heartbeats (request_id, release_id, holder) "
                   "VALUES (:r, :rel, :holder)"),
          r, rel, holder);
}

bool beat_release_heartbeat(connection& c, const uuid& request_id, const uuid& release_id) {
  const std::string r = request_id.str(), rel = release_id.str();
  return execute(c,
                 one_time("UPDATE release_heartbeats SET beat_at = {now} "
                          "WHERE request_id = :r AND release_id = :rel"),
                 r, rel) > 0;
}

std::optional<release_heartbeat> find_release_heartbeat(connection& c, const uuid& request_id) {
  static constexpr sql_text sql{
      "SELECT request_id, release_id, holder, {t:beat_at} FROM release_heartbeats "
      "WHERE request_id = :r ORDER BY started_at DESC, release_id DESC LIMIT 1"};
  const std::string r = request_id.str();
  return query_one(
      c, prepared(sql),
      [](row_reader& row) {
        release_heartbeat h;
        h.request_id = row.uuid();
        h.release_id = row.uuid();
        h.holder = row.text();
        h.beat_at = row.ts();
        return h;
      },
      r);
}

}  // namespace trevor::detail
