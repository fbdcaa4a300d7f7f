#pragma once
// trevor::directory — users, projects and project memberships: the
// configuration the workflow's rules read.
//
// Users are shadows of the identity provider's accounts, written only when a
// claim changed. Projects belong to the platform and arrive through
// reconcile_projects(). Memberships are the one thing that may be removed;
// each change is audited (the removal with the full row).
//
// Every mutating member function is one transaction with its audit events.
// Administrative operations need tre_admin (else forbidden); a deactivated
// user may do nothing (forbidden). Thread-safety: all member functions may be
// called concurrently.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/model.hpp"

namespace trevor {

/// The identity provider's claims about a user (OIDC: sub,
/// preferred_username, email, given_name, family_name, and an optional
/// affiliation claim).
struct identity_claims {
  std::string subject;
  std::string username;
  std::string email;
  std::string given_name;
  std::string family_name;
  std::string affiliation;
};

/// One project of the platform's list.
struct project_spec {
  uuid id;
  std::string name;
  std::string display_name;
};

struct reconcile_result {
  std::size_t created = 0;
  std::size_t updated = 0;  // renamed, or re-activated after being archived
  std::size_t archived = 0;
};

/// At most this many projects in one reconcile call.
inline constexpr std::size_t max_reconcile_projects = 100'000;

class TREVOR_EXPORT directory {
 public:
  explicit directory(database db, id_source* ids = nullptr);

  /// Creates the user (user.created) or refreshes the claims that changed
  /// (user.updated, with before/after values); writes nothing when no claim
  /// changed. Matches by subject, then by username for a row without a
  /// subject. A username taken by another subject is a conflict. Does not
  /// change `active`; a deactivated user is returned as such.
  user upsert_user(const identity_claims& claims);

  /// tre_admin: (de)activates a user (user.updated). A deactivated user's
  /// every operation is refused with forbidden.
  user set_user_active(const actor& who, const uuid& user_id, bool active);

  std::optional<user> find_user(const uuid& id) const;
  /// tre_admin: users by username, or the one with `username` exactly.
  std::vector<user> list_users(const actor& who,
                               const std::optional<std::string>& username = std::nullopt) const;

  /// tre_admin (or the platform acting as one): the platform's complete list
  /// of projects. Creates the new ones (project.synced), renames or
  /// re-activates changed ones (project.synced with before/after), archives
  /// the active projects missing from the list (project.archived). Archived
  /// projects keep their history and refuse new requests. One transaction.
  reconcile_result reconcile_projects(const actor& who, std::span<const project_spec> projects);

  std::vector<project> list_projects() const;
  project get_project(const uuid& id) const;
  /// The same for a caller, who must be an active user (else forbidden).
  std::vector<project> list_projects(const actor& who) const;
  project get_project(const actor& who, const uuid& id) const;

  /// tre_admin: grants a role (membership.created). A researcher is never
  /// also a checker on the same project (conflict, checked here and by the
  /// database); a duplicate is a conflict; unknown user or project not_found.
  membership add_membership(const actor& who, const uuid& user_id, const uuid& project_id,
                            membership_role role);
  /// tre_admin: removes a membership; membership.deleted carries the full row.
  membership remove_membership(const actor& who, const uuid& membership_id);

  std::vector<membership> project_memberships(const uuid& project_id) const;
  /// A project's memberships for a caller, who must be an active user (else
  /// forbidden); not_found for an unknown project.
  std::vector<membership> project_memberships(const actor& who, const uuid& project_id) const;
  std::vector<membership> user_memberships(const uuid& user_id) const;

 private:
  uuid next_id() { return ids_ ? ids_->next() : uuid::v7(); }
  database db_;
  id_source* ids_;
};

}  // namespace trevor
