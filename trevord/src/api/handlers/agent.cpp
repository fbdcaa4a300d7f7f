// The built-in agent's endpoints: the SDC policy a project's outputs are
// checked under, and the preview of what the agent would record for a
// request; and the agent's queue for the metrics.
#include <algorithm>
#include <chrono>

#include <boost/json/parse.hpp>

#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"
#include "trevor/error.hpp"

namespace trevord::handlers {

reply agent_policy(api& a, call& c) {
  const auto project_id = c.query_id("project_id");
  const auto& options = a.workflow.options();
  if (!project_id) {
    // The policy file's defaults, for an active user or the agent.
    if (!c.who.agent()) {
      const auto user = a.directory.find_user(person(c).user_id);
      if (!user || !user->active)
        throw trevor::error(trevor::errc::forbidden, "actor: the user is deactivated");
    }
    return ok(json::parse(trevor::sdc::policy_document(options.sdc_policy.defaults())));
  }
  // Whoever may see the project (the agent's service account sees every one).
  const auto project = c.who.agent() ? a.directory.get_project(*project_id)
                                     : a.directory.get_project(person(c), *project_id);
  const auto p = options.sdc_policy.effective(project.id.str(), project.name);
  return ok(json::parse(trevor::sdc::policy_document(p)));
}

reply sdc_preview(api& a, call& c) {
  const auto& who = person(c);
  const auto request_id = c.id("request_id");
  if (!who.tre_admin) {
    // The library lets every reader of the request preview it; the API
    // narrows that to its owner and the project's checkers.
    const auto req = a.workflow.requests.get(who, request_id);
    const auto memberships = a.directory.user_memberships(who.user_id);
    const bool checker =
        std::any_of(memberships.begin(), memberships.end(), [&](const trevor::membership& m) {
          return m.project_id == req.project_id &&
                 (m.role == trevor::membership_role::output_checker ||
                  m.role == trevor::membership_role::senior_checker);
        });
    if (req.owner_id != who.user_id && !checker)
      throw trevor::error(trevor::errc::forbidden,
                          "sdc-preview: only the request's owner, the project's checkers and "
                          "tre_admin may preview the agent's findings");
  }
  const auto assessment = a.agent.preview(who, request_id);
  return ok(json::object{{"decision", trevor::to_string(assessment.decision)},
                         {"summary", assessment.summary},
                         {"findings", json::parse(assessment.findings_json)}});
}

void agent_gauges(api& a, metrics::gauges& g) {
  const auto waiting =
      a.workflow.requests.list(trevor::actor::of_agent(trevor::agent_credential::builtin()),
                               {.status = trevor::request_status::submitted});
  g.agent_queue_length = static_cast<std::int64_t>(waiting.size());
  if (waiting.empty()) return;
  const auto oldest =
      std::min_element(waiting.begin(), waiting.end(),
                       [](const auto& x, const auto& y) { return x.updated_at < y.updated_at; });
  const auto now = trevor::timestamp::from_sys(std::chrono::system_clock::now());
  g.agent_queue_oldest_seconds =
      std::max(0.0, static_cast<double>(now.micros() - oldest->updated_at.micros()) / 1e6);
}

}  // namespace trevord::handlers
