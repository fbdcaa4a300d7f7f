// Users, projects and memberships (trevor::directory).
#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"

namespace trevord::handlers {

// ------------------------------------------------------------------- users

reply users_me(api& a, call& c) {
  json::array realm_roles;
  for (const auto& r : c.who.realm_roles) realm_roles.emplace_back(r);
  if (c.who.agent()) {
    // The agent's service account has no user row and no memberships.
    return ok(json::object{{"id", nullptr},
                           {"username", c.who.actor.agent->name()},
                           {"agent", true},
                           {"is_admin", false},
                           {"realm_roles", std::move(realm_roles)},
                           {"memberships", json::array()}});
  }
  const auto& who = c.who.actor;
  auto user = a.directory.find_user(who.user_id);
  if (!user) throw http_error(http::status::not_found, "your user row does not exist");
  auto v = to_json(*user);
  auto& o = v.as_object();
  o["agent"] = false;
  o["is_admin"] = who.tre_admin;
  o["realm_roles"] = std::move(realm_roles);
  json::array memberships;
  for (const auto& m : a.directory.user_memberships(who.user_id))
    memberships.push_back(json::object{{"id", m.id.str()},
                                       {"project_id", m.project_id.str()},
                                       {"role", trevor::to_string(m.role)}});
  o["memberships"] = std::move(memberships);
  return ok(std::move(v));
}

reply users_list(api& a, call& c) {
  return ok(to_json(a.directory.list_users(person(c), c.query_value("username"))));
}

// ---------------------------------------------------------------- projects

reply projects_list(api& a, call& c) {
  return ok(to_json(a.directory.list_projects(person(c))));
}

reply project_get(api& a, call& c) {
  return ok(to_json(a.directory.get_project(person(c), c.id("project_id"))));
}

reply projects_sync(api& a, call& c) {
  json_body body(c.body);
  body.only({"projects"});
  if (!body.find("projects")) invalid("projects", "required");
  std::vector<trevor::project_spec> specs;
  body.each_object("projects", [&](const json_body& entry) {
    entry.only({"id", "name", "display_name"});
    specs.push_back({entry.uuid("id"), entry.string("name"),
                     entry.optional_string("display_name").value_or("")});
  });
  const auto result = a.directory.reconcile_projects(person(c), specs);
  return ok(json::object{
      {"created", result.created}, {"updated", result.updated}, {"archived", result.archived}});
}

// ------------------------------------------------------------- memberships

reply memberships_of_project(api& a, call& c) {
  return ok(to_json(a.directory.project_memberships(person(c), c.id("project_id"))));
}

reply membership_create(api& a, call& c) {
  json_body body(c.body);
  body.only({"user_id", "project_id", "role"});
  const auto user_id = body.uuid("user_id");
  const auto project_id = body.uuid("project_id");
  const auto role = body.enumeration<trevor::membership_role>("role");
  return ok(to_json(a.directory.add_membership(person(c), user_id, project_id, role)),
            http::status::created);
}

reply membership_delete(api& a, call& c) {
  a.directory.remove_membership(person(c), c.id("membership_id"));
  return no_content();
}

}  // namespace trevord::handlers
