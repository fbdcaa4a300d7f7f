#pragma once
// The handlers of the route table (api/routes.cpp), one per endpoint of
// trevord/openapi.json, each in the file named for what it serves.
// Internal to trevord.

#include "api/api.hpp"

namespace trevord::handlers {

// Operations, no authentication (operations.cpp).
reply health(api&, call&);
reply readyz(api&, call&);
reply metrics_text(api&, call&);
reply openapi(api&, call&);

// Users, projects, memberships (directory.cpp).
reply users_me(api&, call&);
reply users_list(api&, call&);
reply projects_list(api&, call&);
reply project_get(api&, call&);
reply projects_sync(api&, call&);
reply memberships_of_project(api&, call&);
reply membership_create(api&, call&);
reply membership_delete(api&, call&);

// Requests, objects, reviews, audit (requests.cpp).
reply request_create(api&, call&);
reply requests_list(api&, call&);
reply request_get(api&, call&);
reply request_submit(api&, call&);
reply request_resubmit(api&, call&);
reply request_withdraw(api&, call&);
reply request_audit(api&, call&);
reply object_upload(api&, call&);
reply objects_list(api&, call&);
reply object_get(api&, call&);
reply object_content(api&, call&);
reply object_metadata_get(api&, call&);
reply object_metadata_patch(api&, call&);
reply object_replace(api&, call&);
reply object_versions(api&, call&);
reply reviews_list(api&, call&);
reply review_get(api&, call&);
reply review_create(api&, call&);
reply agent_review(api&, call&);

// Ingress slots, release, delivery and their signed links (release.cpp).
reply slot_create(api&, call&);
reply upload_link_create(api&, call&);
reply upload_through_link(api&, call&);
reply release_create(api&, call&);
reply release_get(api&, call&);
reply release_link_renew(api&, call&);
reply release_download(api&, call&);
reply release_revoke(api&, call&);
reply deliver(api&, call&);
reply delivery_get(api&, call&);
reply delivered_object_download(api&, call&);

// The admin dashboard (admin.cpp).
reply admin_requests(api&, call&);
reply admin_metrics(api&, call&);
reply admin_checkers(api&, call&);
reply admin_projects(api&, call&);
reply admin_audit(api&, call&);
reply admin_audit_export(api&, call&);
reply admin_notification_deliveries(api&, call&);

// Notifications (notifications.cpp).
reply notifications_list(api&, call&);
reply notifications_unread(api&, call&);
reply notification_read(api&, call&);
reply notifications_read_all(api&, call&);

// The verifiable audit trail (audit.cpp).
reply audit_checkpoint(api&, call&);
reply audit_inclusion(api&, call&);
reply audit_consistency(api&, call&);
reply audit_leaves(api&, call&);
// The built-in agent: its policy, the preview of its findings (agent.cpp).
reply agent_policy(api&, call&);
reply sdc_preview(api&, call&);
/// The agent's queue (SUBMITTED requests) for /metrics.
void agent_gauges(api&, metrics::gauges&);

/// An answer with a JSON body.
inline reply ok(boost::json::value body, http::status status = http::status::ok) {
  reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

/// 204, no body.
inline reply no_content() {
  reply r;
  r.status = http::status::no_content;
  return r;
}

// Who is calling (callers.cpp).

/// A person's actor; 403 for the agent's service account (routes a person
/// alone may use).
const trevor::actor& person(const call& c);

/// The caller's actor, the agent's included: the routes the agent may use
/// besides recording its review (reading requests, objects, metadata and
/// versions, and downloading object content). The library decides what each
/// may see.
const trevor::actor& reader(const call& c);

/// The agent's credential; 403 for anyone else (recording agent reviews).
const trevor::agent_credential& agent(const call& c);

}  // namespace trevord::handlers
