#include "store/memberships.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

#define TREVOR_MEMBERSHIP_COLUMNS \
  "id, user_id, project_id, role, assigned_by, {t:created_at}, {t:updated_at}"

membership read_membership(const soci::row& r) {
  membership m;
  m.id = get_uuid(r, 0);
  m.user_id = get_uuid(r, 1);
  m.project_id = get_uuid(r, 2);
  m.role = parse_enum_or_throw<membership_role>(get_str(r, 3));
  m.assigned_by = get_opt_uuid(r, 4);
  m.created_at = get_ts(r, 5);
  m.updated_at = get_ts(r, 6);
  return m;
}

}  // namespace

membership insert_membership(connection& c, const membership& m) {
  const std::string id = m.id.str(), user = m.user_id.str(), project = m.project_id.str();
  const std::string role(to_string(m.role));
  nullable_text by(m.assigned_by);
  return *query_one(
      c, read_membership,
      "INSERT INTO project_memberships (id, user_id, project_id, role, assigned_by) "
      "VALUES (:id, :user, :project, :role, :by) RETURNING " TREVOR_MEMBERSHIP_COLUMNS,
      id, user, project, role, nullable(by));
}

std::optional<membership> find_membership(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one(c, read_membership,
                   "SELECT " TREVOR_MEMBERSHIP_COLUMNS " FROM project_memberships WHERE id = :id",
                   key);
}

std::optional<membership> delete_membership(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one(
      c, read_membership,
      "DELETE FROM project_memberships WHERE id = :id RETURNING " TREVOR_MEMBERSHIP_COLUMNS, key);
}

std::vector<membership> list_memberships_of_project(connection& c, const uuid& project_id) {
  const std::string key = project_id.str();
  return query_all<membership>(c,
                               "SELECT " TREVOR_MEMBERSHIP_COLUMNS
                               " FROM project_memberships "
                               "WHERE project_id = :p ORDER BY role, created_at, id",
                               read_membership, key);
}

std::vector<membership> list_memberships_of_user(connection& c, const uuid& user_id) {
  const std::string key = user_id.str();
  return query_all<membership>(c,
                               "SELECT " TREVOR_MEMBERSHIP_COLUMNS
                               " FROM project_memberships "
                               "WHERE user_id = :u ORDER BY project_id, role",
                               read_membership, key);
}

std::vector<membership_role> roles_on_project(connection& c, const uuid& user_id,
                                              const uuid& project_id) {
  const std::string user = user_id.str(), project = project_id.str();
  return query_all<membership_role>(
      c,
      "SELECT role FROM project_memberships WHERE user_id = :u AND project_id = :p ORDER BY role",
      [](const soci::row& r) { return parse_enum_or_throw<membership_role>(get_str(r, 0)); }, user,
      project);
}

std::vector<uuid> checkers_of_project(connection& c, const uuid& project_id) {
  const std::string key = project_id.str();
  return query_all<uuid>(
      c,
      "SELECT DISTINCT user_id FROM project_memberships "
      "WHERE project_id = :p AND role IN ('output_checker', 'senior_checker') ORDER BY user_id",
      [](const soci::row& r) { return get_uuid(r, 0); }, key);
}

}  // namespace trevor::detail
