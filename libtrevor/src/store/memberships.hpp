#pragma once
// project_memberships (internal repository). Runs in the caller's transaction.

#include <optional>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// Throws conflict for a duplicate or a researcher/checker clash (the
/// database trigger), not_found for an unknown user or project.
membership insert_membership(connection& c, const membership& m);
std::optional<membership> find_membership(connection& c, const uuid& id);
/// Deletes the row and returns it as it was (for the audit payload);
/// nullopt when there was none.
std::optional<membership> delete_membership(connection& c, const uuid& id);
/// Ordered by role, then creation.
std::vector<membership> list_memberships_of_project(connection& c, const uuid& project_id);
std::vector<membership> list_memberships_of_user(connection& c, const uuid& user_id);
/// The roles `user_id` holds on `project_id`.
std::vector<membership_role> roles_on_project(connection& c, const uuid& user_id,
                                              const uuid& project_id);
/// Users holding any of the checker roles on the project, each once.
std::vector<uuid> checkers_of_project(connection& c, const uuid& project_id);

}  // namespace trevor::detail
