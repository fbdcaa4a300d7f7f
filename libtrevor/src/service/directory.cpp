// directory: users, projects and memberships.
#include "trevor/directory.hpp"

#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "store/memberships.hpp"
#include "store/users.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using detail::event_batch;
using mode = detail::transaction::mode;

namespace {

constexpr std::size_t max_name_length = 255;

/// Forbidden unless the actor is an active user holding tre_admin.
void require_admin(connection& c, const actor& who) {
  detail::require_active_user(c, who);
  if (!who.acting_admin())
    throw error(errc::forbidden, who.auditor ? "an auditor is read-only; only tre_admin may do this"
                                             : "only tre_admin may do this");
}

boost::json::object user_claims(const user& u) {
  return {{"subject", u.subject ? boost::json::value(*u.subject) : nullptr},
          {"username", u.username},
          {"email", u.email},
          {"given_name", u.given_name},
          {"family_name", u.family_name},
          {"affiliation", u.affiliation},
          {"active", u.active}};
}

/// {field: {from, to}} for the fields of `before` and `after` that differ.
boost::json::object diff(const boost::json::object& before, const boost::json::object& after) {
  boost::json::object out;
  for (const auto& [k, v] : after)
    if (before.at(k) != v) out[k] = {{"from", before.at(k)}, {"to", v}};
  return out;
}

boost::json::object membership_row(const membership& m) {
  return {{"membership_id", m.id.str()},
          {"user_id", m.user_id.str()},
          {"project_id", m.project_id.str()},
          {"role", to_string(m.role)},
          {"assigned_by", detail::json_of(m.assigned_by)},
          {"created_at", m.created_at.str()}};
}

}  // namespace

directory::directory(database db, id_source* ids) : db_(std::move(db)), ids_(ids) {}

user directory::upsert_user(const identity_claims& claims) {
  detail::check_text(claims.subject, "sub", max_name_length, true);
  detail::check_text(claims.username, "preferred_username", max_name_length, true);
  detail::check_text(claims.email, "email", max_name_length, false);
  detail::check_text(claims.given_name, "given_name", max_name_length, false);
  detail::check_text(claims.family_name, "family_name", max_name_length, false);
  detail::check_text(claims.affiliation, "affiliation", max_name_length, false);
  const uuid new_id = next_id();
  auto attempt = [&] {
    return detail::run_transaction(db_.impl(), mode::write, "upsert user", [&](connection& c) {
      auto existing = detail::find_user_by_subject(c, claims.subject);
      if (!existing) {
        // A row made before the user first signed in (no subject yet).
        existing = detail::find_user_by_username(c, claims.username);
        if (existing && existing->subject)
          throw error(errc::conflict, fmt::format("preferred_username: '{}' belongs to another "
                                                  "identity",
                                                  claims.username));
      }
      event_batch batch(ids_);
      if (!existing) {
        user u;
        u.id = new_id;
        u.subject = claims.subject;
        u.username = claims.username;
        u.email = claims.email;
        u.given_name = claims.given_name;
        u.family_name = claims.family_name;
        u.affiliation = claims.affiliation;
        auto stored = detail::insert_user(c, u);
        batch.event(stored.id.str(), "user.created", std::nullopt, std::nullopt,
                    {{"user_id", stored.id.str()}, {"claims", user_claims(stored)}});
        batch.write(c);
        return stored;
      }
      user next = *existing;
      next.subject = claims.subject;
      next.username = claims.username;
      next.email = claims.email;
      next.given_name = claims.given_name;
      next.family_name = claims.family_name;
      next.affiliation = claims.affiliation;
      auto updated = detail::update_user_if_changed(c, next);
      if (!updated) return *existing;  // no claim changed: nothing written
      batch.event(updated->id.str(), "user.updated", std::nullopt, std::nullopt,
                  {{"user_id", updated->id.str()},
                   {"changes", diff(user_claims(*existing), user_claims(*updated))}});
      batch.write(c);
      return *updated;
    });
  };
  try {
    return attempt();
  } catch (const error& e) {
    // Two first sign-ins of one identity at once: the loser's insert hits the
    // unique subject; run again to find the winner's row.
    if (e.code() != errc::conflict) throw;
    return attempt();
  }
}

user directory::set_user_active(const actor& who, const uuid& user_id, bool active) {
  return detail::run_transaction(db_.impl(), mode::write, "set user active", [&](connection& c) {
    require_admin(c, who);
    auto u = detail::find_user(c, user_id);
    if (!u) throw error(errc::not_found, fmt::format("user {} not found", user_id.str()));
    user next = *u;
    next.active = active;
    auto updated = detail::update_user_if_changed(c, next);
    if (!updated) return *u;
    event_batch batch(ids_);
    batch.event(
        detail::actor_name(who), "user.updated", std::nullopt, std::nullopt,
        {{"user_id", u->id.str()}, {"changes", diff(user_claims(*u), user_claims(*updated))}});
    batch.write(c);
    return *updated;
  });
}

std::optional<user> directory::find_user(const uuid& id) const {
  return detail::run_statement(db_.impl(), "find user",
                               [&](connection& c) { return detail::find_user(c, id); });
}

std::vector<user> directory::list_users(const actor& who,
                                        const std::optional<std::string>& username) const {
  return detail::run_transaction(db_.impl(), mode::read, "list users", [&](connection& c) {
    detail::require_active_user(c, who);
    // A read: auditors see the users as tre_admin does.
    if (!who.oversees()) throw error(errc::forbidden, "only tre_admin and auditors may do this");
    return detail::list_users(c, username);
  });
}

reconcile_result directory::reconcile_projects(const actor& who,
                                               std::span<const project_spec> projects) {
  if (projects.size() > max_reconcile_projects)
    throw error(errc::invalid_argument,
                fmt::format("projects: more than {} entries", max_reconcile_projects));
  std::unordered_set<uuid> ids;
  std::unordered_set<std::string> names;
  for (std::size_t i = 0; i < projects.size(); ++i) {
    const auto& p = projects[i];
    if (p.id.is_nil())
      throw error(errc::invalid_argument, fmt::format("projects[{}].id: required", i));
    detail::check_text(p.name, fmt::format("projects[{}].name", i), max_name_length, true);
    detail::check_text(p.display_name, fmt::format("projects[{}].display_name", i), max_name_length,
                       false);
    if (!ids.insert(p.id).second)
      throw error(errc::invalid_argument,
                  fmt::format("projects[{}].id: {} appears twice", i, p.id.str()));
    if (!names.insert(p.name).second)
      throw error(errc::invalid_argument,
                  fmt::format("projects[{}].name: '{}' appears twice", i, p.name));
  }
  return detail::run_transaction(db_.impl(), mode::write, "reconcile projects", [&](connection& c) {
    require_admin(c, who);
    std::unordered_map<uuid, project> current;
    for (auto& p : detail::list_projects(c)) current.emplace(p.id, std::move(p));
    reconcile_result result;
    event_batch batch(ids_);
    const auto actor_id = detail::actor_name(who);
    for (const auto& spec : projects) {
      project next;
      next.id = spec.id;
      next.name = spec.name;
      next.display_name = spec.display_name;
      next.status = project_status::active;
      const auto it = current.find(spec.id);
      if (it == current.end()) {
        const auto stored = detail::insert_project(c, next);
        ++result.created;
        batch.event(actor_id, "project.synced", std::nullopt, stored.id,
                    {{"project_id", stored.id.str()},
                     {"created", true},
                     {"name", stored.name},
                     {"display_name", stored.display_name},
                     {"status", to_string(stored.status)}});
        continue;
      }
      const auto& before = it->second;
      if (const auto updated = detail::update_project_if_changed(c, next)) {
        ++result.updated;
        boost::json::object b{{"name", before.name},
                              {"display_name", before.display_name},
                              {"status", to_string(before.status)}};
        boost::json::object a{{"name", updated->name},
                              {"display_name", updated->display_name},
                              {"status", to_string(updated->status)}};
        batch.event(
            actor_id, "project.synced", std::nullopt, updated->id,
            {{"project_id", updated->id.str()}, {"created", false}, {"changes", diff(b, a)}});
      }
    }
    for (const auto& [id, p] : current) {
      if (ids.count(id) || p.status == project_status::archived) continue;
      project next = p;
      next.status = project_status::archived;
      if (detail::update_project_if_changed(c, next)) {
        ++result.archived;
        batch.event(
            actor_id, "project.archived", std::nullopt, id,
            {{"project_id", id.str()}, {"name", p.name}, {"from", "active"}, {"to", "archived"}});
      }
    }
    batch.write(c);
    return result;
  });
}

std::vector<project> directory::list_projects() const {
  return detail::run_statement(db_.impl(), "list projects",
                               [](connection& c) { return detail::list_projects(c); });
}

project directory::get_project(const uuid& id) const {
  auto p = detail::run_statement(db_.impl(), "get project",
                                 [&](connection& c) { return detail::find_project(c, id); });
  if (!p) throw error(errc::not_found, fmt::format("project {} not found", id.str()));
  return *p;
}

std::vector<project> directory::list_projects(const actor& who) const {
  return detail::run_transaction(db_.impl(), mode::read, "list projects", [&](connection& c) {
    detail::require_active_user(c, who);
    return detail::list_projects(c);
  });
}

project directory::get_project(const actor& who, const uuid& id) const {
  return detail::run_transaction(db_.impl(), mode::read, "get project", [&](connection& c) {
    detail::require_active_user(c, who);
    auto p = detail::find_project(c, id);
    if (!p) throw error(errc::not_found, fmt::format("project {} not found", id.str()));
    return std::move(*p);
  });
}

membership directory::add_membership(const actor& who, const uuid& user_id, const uuid& project_id,
                                     membership_role role) {
  const uuid id = next_id();
  return detail::run_transaction(db_.impl(), mode::write, "add membership", [&](connection& c) {
    require_admin(c, who);
    if (!detail::find_user(c, user_id))
      throw error(errc::not_found, fmt::format("user_id: user {} not found", user_id.str()));
    if (!detail::find_project(c, project_id))
      throw error(errc::not_found,
                  fmt::format("project_id: project {} not found", project_id.str()));
    for (const auto held : detail::roles_on_project(c, user_id, project_id)) {
      if (held == role)
        throw error(errc::conflict,
                    fmt::format("role: the user already is {} on this project", to_string(role)));
      if ((held == membership_role::researcher) != (role == membership_role::researcher))
        throw error(errc::conflict,
                    fmt::format("role: the user is {} on this project and cannot also be {} "
                                "(researchers never check their own project)",
                                to_string(held), to_string(role)));
    }
    membership m;
    m.id = id;
    m.user_id = user_id;
    m.project_id = project_id;
    m.role = role;
    m.assigned_by = who.user_id;
    const auto stored = detail::insert_membership(c, m);
    event_batch batch(ids_);
    batch.event(detail::actor_name(who), "membership.created", std::nullopt, project_id,
                membership_row(stored));
    batch.write(c);
    return stored;
  });
}

membership directory::remove_membership(const actor& who, const uuid& membership_id) {
  return detail::run_transaction(db_.impl(), mode::write, "remove membership", [&](connection& c) {
    require_admin(c, who);
    const auto removed = detail::delete_membership(c, membership_id);
    if (!removed)
      throw error(errc::not_found, fmt::format("membership {} not found", membership_id.str()));
    event_batch batch(ids_);
    batch.event(detail::actor_name(who), "membership.deleted", std::nullopt, removed->project_id,
                membership_row(*removed));
    batch.write(c);
    return *removed;
  });
}

std::vector<membership> directory::project_memberships(const uuid& project_id) const {
  return detail::run_statement(db_.impl(), "list memberships", [&](connection& c) {
    return detail::list_memberships_of_project(c, project_id);
  });
}

std::vector<membership> directory::project_memberships(const actor& who,
                                                       const uuid& project_id) const {
  return detail::run_transaction(db_.impl(), mode::read, "list memberships", [&](connection& c) {
    detail::require_active_user(c, who);
    if (!detail::find_project(c, project_id))
      throw error(errc::not_found, fmt::format("project {} not found", project_id.str()));
    return detail::list_memberships_of_project(c, project_id);
  });
}

std::vector<membership> directory::user_memberships(const uuid& user_id) const {
  return detail::run_statement(db_.impl(), "list memberships", [&](connection& c) {
    return detail::list_memberships_of_user(c, user_id);
  });
}

}  // namespace trevor
