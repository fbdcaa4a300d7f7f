#include "store/users.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

/// users: the columns every statement reads and their reader.
struct user_row {
  static constexpr sql_text columns{
      "id, subject, username, email, given_name, family_name, affiliation, active, "
      "{t:created_at}, {t:updated_at}"};

  static user read(row_reader& r) {
    user u;
    u.id = r.uuid();
    u.subject = r.opt_text();
    u.username = r.text();
    u.email = r.text();
    u.given_name = r.text();
    u.family_name = r.text();
    u.affiliation = r.text();
    u.active = r.boolean();
    u.created_at = r.ts();
    u.updated_at = r.ts();
    return u;
  }
};

/// projects: the columns every statement reads and their reader.
struct project_row {
  static constexpr sql_text columns{
      "id, name, display_name, status, {t:created_at}, {t:updated_at}"};

  static project read(row_reader& r) {
    project p;
    p.id = r.uuid();
    p.name = r.text();
    p.display_name = r.text();
    p.status = r.enum_<project_status>();
    p.created_at = r.ts();
    p.updated_at = r.ts();
    return p;
  }
};

constexpr auto user_select = "SELECT " + user_row::columns + " FROM users ";
constexpr auto project_select = "SELECT " + project_row::columns + " FROM projects ";

}  // namespace

user insert_user(connection& c, const user& u) {
  static constexpr auto sql =
      "INSERT INTO users (id, subject, username, email, given_name, family_name, affiliation, "
      "active) VALUES (:id, :subject, :username, :email, :given, :family, :affiliation, :active) "
      "RETURNING " +
      user_row::columns;
  const std::string id = u.id.str();
  nullable_text subject(u.subject);
  int active = u.active ? 1 : 0;
  return *query_one(c, one_time(sql), user_row::read, id, nullable(subject), u.username, u.email,
                    u.given_name, u.family_name, u.affiliation, active);
}

std::optional<user> find_user(connection& c, const uuid& id) {
  static constexpr auto sql = user_select + "WHERE id = :id";
  const std::string key = id.str();
  return query_one(c, prepared(sql), user_row::read, key);
}

std::optional<user> find_user_by_username(connection& c, const std::string& username) {
  static constexpr auto sql = user_select + "WHERE username = :u";
  return query_one(c, prepared(sql), user_row::read, username);
}

std::optional<user> find_user_by_subject(connection& c, const std::string& subject) {
  static constexpr auto sql = user_select + "WHERE subject = :s";
  return query_one(c, prepared(sql), user_row::read, subject);
}

std::vector<user> list_users(connection& c, const std::optional<std::string>& username) {
  static constexpr auto all = user_select + "ORDER BY username";
  static constexpr auto named = user_select + "WHERE username = :u ORDER BY username";
  if (username) return query_all(c, one_time(named), user_row::read, *username);
  return query_all(c, one_time(all), user_row::read);
}

std::optional<user> update_user_if_changed(connection& c, const user& u) {
  // IS DISTINCT FROM compares NULLs as values on both engines (SQLite >= 3.39).
  static constexpr auto sql =
      "UPDATE users SET updated_at = {now}, subject = :subject, username = :username, "
      "email = :email, given_name = :given, family_name = :family, affiliation = :affiliation, "
      "active = :active "
      "WHERE id = :id AND (subject IS DISTINCT FROM :subject2 OR username <> :username2 "
      "OR email <> :email2 OR given_name <> :given2 OR family_name <> :family2 "
      "OR affiliation <> :affiliation2 OR active <> :active2) RETURNING " +
      user_row::columns;
  const std::string id = u.id.str();
  nullable_text subject(u.subject);
  int active = u.active ? 1 : 0;
  return query_one(c, one_time(sql), user_row::read, nullable(subject), u.username, u.email,
                   u.given_name, u.family_name, u.affiliation, active, id, nullable(subject),
                   u.username, u.email, u.given_name, u.family_name, u.affiliation, active);
}

project insert_project(connection& c, const project& p) {
  static constexpr auto sql =
      "INSERT INTO projects (id, name, display_name, status) "
      "VALUES (:id, :name, :display, :status) RETURNING " +
      project_row::columns;
  const std::string id = p.id.str();
  const std::string status(to_string(p.status));
  return *query_one(c, one_time(sql), project_row::read, id, p.name, p.display_name, status);
}

std::optional<project> find_project(connection& c, const uuid& id) {
  static constexpr auto sql = project_select + "WHERE id = :id";
  const std::string key = id.str();
  return query_one(c, prepared(sql), project_row::read, key);
}

std::vector<project> list_projects(connection& c) {
  static constexpr auto sql = project_select + "ORDER BY name";
  return query_all(c, one_time(sql), project_row::read);
}

std::optional<project> update_project_if_changed(connection& c, const project& p) {
  static constexpr auto sql =
      "UPDATE projects SET updated_at = {now}, name = :name, display_name = :display, "
      "status = :status "
      "WHERE id = :id AND (name <> :name2 OR display_name <> :display2 OR status <> :status2) "
      "RETURNING " +
      project_row::columns;
  const std::string id = p.id.str();
  const std::string status(to_string(p.status));
  return query_one(c, one_time(sql), project_row::read, p.name, p.display_name, status, id, p.name,
                   p.display_name, status);
}

}  // namespace trevor::detail
