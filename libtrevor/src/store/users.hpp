#pragma once
// users and projects (internal repositories). Every function runs on the
// caller's connection, inside the caller's transaction.

#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// Inserts `u` (its id, subject, names, active flag); the database sets the
/// timestamps. Returns the stored row. Throws conflict on a taken username
/// or subject.
user insert_user(connection& c, const user& u);
std::optional<user> find_user(connection& c, const uuid& id);
std::optional<user> find_user_by_username(connection& c, const std::string& username);
std::optional<user> find_user_by_subject(connection& c, const std::string& subject);
/// Users ordered by username; only `username` when given.
std::vector<user> list_users(connection& c, const std::optional<std::string>& username);
/// Writes the identity claims and `active` of `u` to its row only where one
/// differs; returns the new row, or nullopt when nothing changed (no write,
/// updated_at untouched).
std::optional<user> update_user_if_changed(connection& c, const user& u);

project insert_project(connection& c, const project& p);
std::optional<project> find_project(connection& c, const uuid& id);
/// All projects ordered by name.
std::vector<project> list_projects(connection& c);
/// Writes name, display_name and status where one differs; nullopt when
/// nothing changed.
std::optional<project> update_project_if_changed(connection& c, const project& p);

}  // namespace trevor::detail
