// Operations endpoints, users, projects, memberships and notifications.
#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "handlers.hpp"
#include "json_io.hpp"
#include "trevor/version.hpp"

namespace trevord::handlers {

const trevor::actor& person(const call& c) {
  if (c.who.agent())
    throw http_error(http::status::forbidden,
                     "the agent's service account may read requests, their objects and "
                     "metadata, download object content and record agent reviews; nothing else");
  return c.who.actor;
}

const trevor::actor& reader(const call& c) {
  return c.who.actor;
}

const trevor::agent_credential& agent(const call& c) {
  if (!c.who.agent())
    throw http_error(http::status::forbidden,
                     fmt::format("only the agent's service account (realm role {}) records agent "
                                 "reviews",
                                 agent_role));
  return *c.who.actor.agent;
}

// ---------------------------------------------------------------- operations

reply health(api&, call&) {
  return ok(json::object{{"status", "ok"}, {"version", trevor::version}});
}

reply readyz(api& a, call&) {
  auto [ready, why] = a.readiness();
  if (!ready) throw http_error(http::status::service_unavailable, why);
  return ok(json::object{{"status", "ready"}});
}

reply metrics_text(api& a, call&) {
  auto g = a.server_gauges();
  g.pool_size = a.db.pool_size();
  g.pool_in_use = a.db.in_use();
  for (const auto& [status, n] : a.workflow.requests.count_by_status())
    g.requests_by_status.emplace_back(trevor::to_string(status), n);
  reply r;
  r.text = a.metrics.render(g);
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

reply openapi(api&, call&) {
  reply r;
  r.text = std::string(openapi_document());
  return r;
}

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

// ----------------------------------------------------------- notifications

reply notifications_list(api& a, call& c) {
  const auto limit = c.query_integer("limit", 1, trevor::max_notification_page)
                         .value_or(trevor::default_notification_page);
  const auto page = a.inbox.list(person(c), static_cast<std::size_t>(limit), c.query_id("before"),
                                 c.query_bool("unread_only").value_or(false));
  reply r = ok(to_json(page.items));
  return r;
}

reply notifications_unread(api& a, call& c) {
  return ok(json::object{{"count", a.inbox.unread_count(person(c))}});
}

reply notification_read(api& a, call& c) {
  return ok(to_json(a.inbox.mark_read(person(c), c.id("notification_id"))));
}

reply notifications_read_all(api& a, call& c) {
  a.inbox.mark_all_read(person(c));
  return no_content();
}

}  // namespace trevord::handlers
