#include "store/users.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

user read_user(const soci::row& r) {
  user u;
  u.id = get_uuid(r, 0);
  u.subject = get_opt_str(r, 1);
  u.username = get_str(r, 2);
  u.email = get_str(r, 3);
  u.given_name = get_str(r, 4);
  u.family_name = get_str(r, 5);
  u.affiliation = get_str(r, 6);
  u.active = get_bool(r, 7);
  u.created_at = get_ts(r, 8);
  u.updated_at = get_ts(r, 9);
  return u;
}

project read_project(const soci::row& r) {
  project p;
  p.id = get_uuid(r, 0);
  p.name = get_str(r, 1);
  p.display_name = get_str(r, 2);
  p.status = parse_enum_or_throw<project_status>(get_str(r, 3));
  p.created_at = get_ts(r, 4);
  p.updated_at = get_ts(r, 5);
  return p;
}

template <class T, class Read>
std::optional<T> read_opt(std::optional<soci::row> r, Read read) {
  if (!r) return std::nullopt;
  return read(*r);
}

// Statement texts are assembled once (they must have static storage).
#define TREVOR_USER_SELECT                                                      \
  "SELECT id, subject, username, email, given_name, family_name, affiliation, " \
  "active, {t:created_at}, {t:updated_at} FROM users "
#define TREVOR_PROJECT_SELECT \
  "SELECT id, name, display_name, status, {t:created_at}, {t:updated_at} FROM projects "

}  // namespace

user insert_user(connection& c, const user& u) {
  const std::string id = u.id.str();
  nullable_text subject(u.subject);
  int active = u.active ? 1 : 0;
  return *query_one(
      c, read_user,
      "INSERT INTO users (id, subject, username, email, given_name, family_name, affiliation, "
      "active) VALUES (:id, :subject, :username, :email, :given, :family, :affiliation, :active) "
      "RETURNING id, subject, username, email, given_name, family_name, affiliation, active, "
      "{t:created_at}, {t:updated_at}",
      id, nullable(subject), u.username, u.email, u.given_name, u.family_name, u.affiliation,
      active);
}

std::optional<user> find_user(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one_prepared(c, read_user, TREVOR_USER_SELECT "WHERE id = :id", key);
}

std::optional<user> find_user_by_username(connection& c, const std::string& username) {
  return query_one_prepared(c, read_user, TREVOR_USER_SELECT "WHERE username = :u", username);
}

std::optional<user> find_user_by_subject(connection& c, const std::string& subject) {
  return query_one_prepared(c, read_user, TREVOR_USER_SELECT "WHERE subject = :s", subject);
}

std::vector<user> list_users(connection& c, const std::optional<std::string>& username) {
  if (username)
    return query_all<user>(c, TREVOR_USER_SELECT "WHERE username = :u ORDER BY username", read_user,
                           *username);
  return query_all<user>(c, TREVOR_USER_SELECT "ORDER BY username", read_user);
}

std::optional<user> update_user_if_changed(connection& c, const user& u) {
  const std::string id = u.id.str();
  nullable_text subject(u.subject);
  int active = u.active ? 1 : 0;
  // IS DISTINCT FROM compares NULLs as values on both engines (SQLite >= 3.39).
  return query_one(
      c, read_user,
      "UPDATE users SET updated_at = {now}, subject = :subject, username = :username, email = "
      ":email, "
      "given_name = :given, family_name = :family, affiliation = :affiliation, active = :active "
      "WHERE id = :id AND (subject IS DISTINCT FROM :subject2 OR username <> :username2 "
      "OR email <> :email2 OR given_name <> :given2 OR family_name <> :family2 "
      "OR affiliation <> :affiliation2 OR active <> :active2) "
      "RETURNING id, subject, username, email, given_name, family_name, affiliation, active, "
      "{t:created_at}, {t:updated_at}",
      nullable(subject), u.username, u.email, u.given_name, u.family_name, u.affiliation, active,
      id, nullable(subject), u.username, u.email, u.given_name, u.family_name, u.affiliation,
      active);
}

project insert_project(connection& c, const project& p) {
  const std::string id = p.id.str();
  const std::string status(to_string(p.status));
  return *query_one(c, read_project,
                    "INSERT INTO projects (id, name, display_name, status) VALUES (:id, :name, "
                    ":display, :status) "
                    "RETURNING id, name, display_name, status, {t:created_at}, {t:updated_at}",
                    id, p.name, p.display_name, status);
}

std::optional<project> find_project(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one_prepared(c, read_project, TREVOR_PROJECT_SELECT "WHERE id = :id", key);
}

std::vector<project> list_projects(connection& c) {
  return query_all<project>(c, TREVOR_PROJECT_SELECT "ORDER BY name", read_project);
}

std::optional<project> update_project_if_changed(connection& c, const project& p) {
  const std::string id = p.id.str();
  const std::string status(to_string(p.status));
  return query_one(
      c, read_project,
      "UPDATE projects SET updated_at = {now}, name = :name, display_name = :display, status = "
      ":status "
      "WHERE id = :id AND (name <> :name2 OR display_name <> :display2 OR status <> :status2) "
      "RETURNING id, name, display_name, status, {t:created_at}, {t:updated_at}",
      p.name, p.display_name, status, id, p.name, p.display_name, status);
}

}  // namespace trevor::detail
