#include "store/memberships.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

/// project_memberships: the columns every statement reads and their reader.
struct membership_row {
  static constexpr sql_text columns{
      "id, user_id, project_id, role, assigned_by, {t:created_at}, {t:updated_at}"};

  static membership read(row_reader& r) {
    membership m;
    m.id = r.uuid();
    m.user_id = r.uuid();
    m.project_id = r.uuid();
    m.role = r.enum_<membership_role>();
    m.assigned_by = r.opt_uuid();
    m.created_at = r.ts();
    m.updated_at = r.ts();
    return m;
  }
};

}  // namespace

membership insert_membership(connection& c, const membership& m) {
  static constexpr auto sql =
      "INSERT INTO project_memberships (id, user_id, project_id, role, assigned_by) "
      "VALUES (:id, :user, :project, :role, :by) RETURNING " +
      membership_row::columns;
  const std::string id = m.id.str(), user = m.user_id.str(), project = m.project_id.str();
  const std::string role(to_string(m.role));
  nullable_text by(m.assigned_by);
  return *query_one(c, one_time(sql), membership_row::read, id, user, project, role, nullable(by));
}

std::optional<membership> find_membership(connection& c, const uuid& id) {
  static constexpr auto sql =
      "SELECT " + membership_row::columns + " FROM project_memberships WHERE id = :id";
  const std::string key = id.str();
  return query_one(c, one_time(sql), membership_row::read, key);
}

std::optional<membership> delete_membership(connection& c, const uuid& id) {
  static constexpr auto sql =
      "DELETE FROM project_memberships WHERE id = :id RETURNING " + membership_row::columns;
  const std::string key = id.str();
  return query_one(c, one_time(sql), membership_row::read, key);
}

std::vector<membership> list_memberships_of_project(connection& c, const uuid& project_id) {
  static constexpr auto sql = "SELECT " + membership_row::columns +
                              " FROM project_memberships "
                              "WHERE project_id = :p ORDER BY role, created_at, id";
  const std::string key = project_id.str();
  return query_all(c, one_time(sql), membership_row::read, key);
}

std::vector<membership> list_memberships_of_user(connection& c, const uuid& user_id) {
  static constexpr auto sql = "SELECT " + membership_row::columns +
                              " FROM project_memberships "
                              "WHERE user_id = :u ORDER BY project_id, role";
  const std::string key = user_id.str();
  return query_all(c, one_time(sql), membership_row::read, key);
}

std::vector<membership_role> roles_on_project(connection& c, const uuid& user_id,
                                              const uuid& project_id) {
  const std::string user = user_id.str(), project = project_id.str();
  return query_all(
      c,
      one_time("SELECT role FROM project_memberships WHERE user_id = :u AND project_id = :p "
               "ORDER BY role"),
      [](row_reader& r) { return r.enum_<membership_role>(); }, user, project);
}

std::vector<uuid> checkers_of_project(connection& c, const uuid& project_id) {
  const std::string key = project_id.str();
  return query_all(
      c,
      one_time("SELECT DISTINCT user_id FROM project_memberships "
               "WHERE project_id = :p AND role IN ('output_checker', 'senior_checker') "
               "ORDER BY user_id"),
      [](row_reader& r) { return r.uuid(); }, key);
}

}  // namespace trevor::detail
