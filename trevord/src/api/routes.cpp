#include "api/routes.hpp"

#include "api/handlers/handlers.hpp"

namespace trevord {

using boost::beast::http::verb;
namespace h = handlers;

const std::vector<route>& routes() {
  // clang-format off
  static const std::vector<route> table{
      {verb::get,    "/health",                                      body_mode::none,   false, h::health, true},
      {verb::get,    "/livez",                                       body_mode::none,   false, h::health, true},
      {verb::get,    "/readyz",                                      body_mode::none,   false, h::readyz},
      {verb::get,    "/metrics",                                     body_mode::none,   false, h::metrics_text},
      {verb::get,    "/openapi.json",                                body_mode::none,   false, h::openapi, true},
      {verb::get,    "/users/me",                                    body_mode::none,   true,  h::users_me},
      {verb::get,    "/users",                                       body_mode::none,   true,  h::users_list},
      {verb::get,    "/projects",                                    body_mode::none,   true,  h::projects_list},
      {verb::get,    "/projects/{project_id}",                       body_mode::none,   true,  h::project_get},
      {verb::post,   "/admin/projects/sync",                         body_mode::json,   true,  h::projects_sync},
      {verb::get,    "/memberships/project/{project_id}",            body_mode::none,   true,  h::memberships_of_project},
      {verb::post,   "/memberships",                                 body_mode::json,   true,  h::membership_create},
      {verb::delete_,"/memberships/{membership_id}",                 body_mode::none,   true,  h::membership_delete},
      {verb::post,   "/requests",                                    body_mode::json,   true,  h::request_create},
      {verb::get,    "/requests",                                    body_mode::none,   true,  h::requests_list},
      {verb::get,    "/requests/{request_id}",                       body_mode::none,   true,  h::request_get},
      {verb::post,   "/requests/{request_id}/submit",                body_mode::none,   true,  h::request_submit},
      {verb::post,   "/requests/{request_id}/resubmit",              body_mode::none,   true,  h::request_resubmit},
      {verb::post,   "/requests/{request_id}/withdraw",              body_mode::json,   true,  h::request_withdraw},
      {verb::get,    "/requests/{request_id}/audit",                 body_mode::none,   true,  h::request_audit},
      {verb::post,   "/requests/{request_id}/objects",               body_mode::upload, true,  h::object_upload},
      {verb::get,    "/requests/{request_id}/objects",               body_mode::none,   true,  h::objects_list},
      {verb::get,    "/requests/{request_id}/objects/{object_id}",   body_mode::none,   true,  h::object_get},
      {verb::get,    "/requests/{request_id}/objects/{object_id}/content",  body_mode::none, true, h::object_content},
      {verb::get,    "/requests/{request_id}/objects/{object_id}/metadata", body_mode::none, true, h::object_metadata_get},
      {verb::patch,  "/requests/{request_id}/objects/{object_id}/metadata", body_mode::json, true, h::object_metadata_patch},
      {verb::post,   "/requests/{request_id}/objects/{object_id}/replace",  body_mode::upload, true, h::object_replace},
      {verb::get,    "/requests/{request_id}/objects/{object_id}/versions", body_mode::none, true, h::object_versions},
      {verb::get,    "/requests/{request_id}/reviews",               body_mode::none,   true,  h::reviews_list},
      {verb::post,   "/requests/{request_id}/reviews",               body_mode::json,   true,  h::review_create},
      {verb::get,    "/requests/{request_id}/reviews/{review_id}",   body_mode::none,   true,  h::review_get},
      {verb::post,   "/requests/{request_id}/agent-review",          body_mode::json,   true,  h::agent_review},
      {verb::post,   "/requests/{request_id}/slots",                 body_mode::json,   true,  h::slot_create},
      {verb::post,   "/requests/{request_id}/objects/{object_id}/upload-link", body_mode::none, true, h::upload_link_create},
      {verb::put,    "/requests/{request_id}/objects/{object_id}/upload",      body_mode::upload, false, h::upload_through_link},
      {verb::post,   "/requests/{request_id}/release",               body_mode::none,   true,  h::release_create},
      {verb::get,    "/requests/{request_id}/release",               body_mode::none,   true,  h::release_get},
      {verb::post,   "/requests/{request_id}/release/link",          body_mode::none,   true,  h::release_link_renew},
      {verb::get,    "/requests/{request_id}/release/download",      body_mode::none,   false, h::release_download},
      {verb::post,   "/requests/{request_id}/revoke",                body_mode::json,   true,  h::release_revoke},
      {verb::post,   "/requests/{request_id}/deliver",               body_mode::none,   true,  h::deliver},
      {verb::get,    "/requests/{request_id}/delivery",              body_mode::none,   true,  h::delivery_get},
      {verb::get,    "/requests/{request_id}/delivery/objects/{object_id}", body_mode::none, false, h::delivered_object_download},
      {verb::get,    "/admin/requests",                              body_mode::none,   true,  h::admin_requests},
      {verb::get,    "/admin/metrics",                               body_mode::none,   true,  h::admin_metrics},
      {verb::get,    "/admin/checkers",                              body_mode::none,   true,  h::admin_checkers},
      {verb::get,    "/admin/projects",                              body_mode::none,   true,  h::admin_projects},
      {verb::get,    "/admin/audit",                                 body_mode::none,   true,  h::admin_audit},
      {verb::get,    "/admin/audit/export",                          body_mode::none,   true,  h::admin_audit_export},
      {verb::get,    "/admin/notification-deliveries",               body_mode::none,   true,  h::admin_notification_deliveries},
      {verb::get,    "/notifications",                               body_mode::none,   true,  h::notifications_list},
      {verb::get,    "/notifications/unread-count",                  body_mode::none,   true,  h::notifications_unread},
      {verb::patch,  "/notifications/{notification_id}/read",        body_mode::none,   true,  h::notification_read},
      {verb::post,   "/notifications/mark-all-read",                 body_mode::none,   true,  h::notifications_read_all},
      {verb::get,    "/audit/checkpoint",                            body_mode::none,   true,  h::audit_checkpoint},
      {verb::get,    "/audit/proof/inclusion",                       body_mode::none,   true,  h::audit_inclusion},
      {verb::get,    "/audit/proof/consistency",                     body_mode::none,   true,  h::audit_consistency},
      {verb::get,    "/audit/leaves",                                body_mode::none,   true,  h::audit_leaves},
      {verb::get,    "/agent/policy",                                body_mode::none,   true,  h::agent_policy},
      {verb::get,    "/requests/{request_id}/sdc-preview",           body_mode::none,   true,  h::sdc_preview},
  };
  // clang-format on
  return table;
}

namespace {
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;
  if (path.empty() || path.front() != '/') return out;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}
}  // namespace

route_match match_route(verb method, std::string_view path) {
  route_match m;
  const auto want = segments(path);
  for (const auto& r : routes()) {
    const auto pattern = segments(r.pattern);
    if (pattern.size() != want.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool same = true;
    for (std::size_t i = 0; i < pattern.size() && same; ++i) {
      const auto p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (want[i].empty()) same = false;
        params.emplace_back(p.substr(1, p.size() - 2), want[i]);
      } else {
        same = p == want[i];
      }
    }
    if (!same) continue;
    if (r.method == method) {
      m.found = &r;
      m.params = std::move(params);
      return m;
    }
    m.allowed.push_back(boost::beast::http::to_string(r.method));
  }
  return m;
}

}  // namespace trevord
