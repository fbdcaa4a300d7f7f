#include "trevor/policy.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "trevor/error.hpp"

namespace trevor {
namespace {

std::string status_list(const std::vector<request_status>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += i + 1 == v.size() ? " or " : ", ";
    out += to_string(v[i]);
  }
  return out;
}

int severity(review_decision d) noexcept {
  switch (d) {
    case review_decision::rejected: return 3;
    case review_decision::changes_requested: return 2;
    case review_decision::approved: return 1;
    case review_decision::escalated: return 0;
  }
  return 0;
}

object_state state_for(review_decision d) noexcept {
  switch (d) {
    case review_decision::rejected: return object_state::rejected;
    case review_decision::changes_requested: return object_state::changes_requested;
    default: return object_state::approved;
  }
}

const review* agent_review_of(std::span<const review> reviews) noexcept {
  for (const auto& r : reviews)
    if (r.reviewer_type == reviewer_type::agent) return &r;
  return nullptr;
}

}  // namespace

const transition_rule* first_rule(operation op, direction d) noexcept {
  for (const auto& t : transitions)
    if (t.op == op && in_scope(t.scope, d)) return &t;
  return nullptr;
}

const transition_rule* find_transition(std::optional<request_status> from, operation op,
                                       direction d, request_status to) noexcept {
  for (const auto& t : transitions)
    if (t.from == from && t.op == op && t.to == to && in_scope(t.scope, d)) return &t;
  return nullptr;
}

std::vector<request_status> targets(std::optional<request_status> from, operation op, direction d) {
  std::vector<request_status> out;
  for (const auto& t : transitions)
    if (t.from == from && t.op == op && in_scope(t.scope, d)) out.push_back(t.to);
  return out;
}

const transition_rule& require_transition(request_status from, operation op, direction d,
                                          request_status to) {
  if (const auto* t = find_transition(from, op, d, to)) return *t;
  std::vector<request_status> starts;
  for (const auto& t : transitions)
    if (t.op == op && t.from && in_scope(t.scope, d) &&
        std::find(starts.begin(), starts.end(), *t.from) == starts.end())
      starts.push_back(*t.from);
  if (starts.empty())
    throw error(errc::invalid_transition,
                fmt::format("{} does not apply to {} requests", to_string(op), to_string(d)));
  throw error(errc::invalid_transition,
              fmt::format("request is {}; {} is allowed only in {}", to_string(from), to_string(op),
                          status_list(starts)));
}

std::string_view status_event_type(operation op, request_status to) noexcept {
  switch (op) {
    case operation::create: return "request.created";
    case operation::submit: return "request.submitted";
    case operation::resubmit: return "request.resubmitted";
    case operation::withdraw: return "request.withdrawn";
    case operation::start_agent_review: return "request.agent_review_started";
    case operation::record_agent_review:
      return to == request_status::agent_review ? "request.agent_review_started"
                                                : "request.human_review_started";
    case operation::fail_agent_review: return "request.agent_review_failed";
    case operation::close_round:
      return to == request_status::approved   ? "request.approved"
             : to == request_status::rejected ? "request.rejected"
                                              : "request.changes_requested";
    case operation::start_release: return "request.releasing";
    case operation::finish_release: return "request.released";
    case operation::fail_release: return "request.release_failed";
    case operation::deliver: return "request.delivered";
    case operation::revoke: return "request.revoked";
    default: return "request.updated";  // content edits do not change the status
  }
}

std::string state_diagram_mermaid() {
  // One arrow per (from, to) pair, labelled with its operations in table order.
  struct edge {
    std::string from, to, label;
  };
  std::vector<edge> edges;
  for (const auto& t : transitions) {
    std::string from = t.from ? std::string(to_string(*t.from)) : "[*]";
    std::string to(to_string(t.to));
    std::string op(to_string(t.op));
    if (t.scope != direction_scope::both)
      op += t.scope == direction_scope::egress_only ? " (egress)" : " (ingress)";
    if (!t.when.empty() && (t.op == operation::submit || t.op == operation::resubmit))
      op += fmt::format(" [{}]", t.when);
    auto it = std::find_if(edges.begin(), edges.end(),
                           [&](const edge& e) { return e.from == from && e.to == to; });
    if (it == edges.end())
      edges.push_back({from, to, op});
    else
      it->label += ", " + op;
  }
  std::string out = "stateDiagram-v2\n";
  for (const auto& e : edges) out += fmt::format("    {} --> {}: {}\n", e.from, e.to, e.label);
  for (auto s : {request_status::released, request_status::rejected, request_status::withdrawn,
                 request_status::revoked})
    out += fmt::format("    {} --> [*]\n", to_string(s));
  return out;
}

bool acts_as(party who, const actor_facts& a, direction d) noexcept {
  if (a.auditor) return false;  // read-only, whatever else it holds
  switch (who) {
    case party::contributor:
      return d == direction::egress ? a.roles.researcher : (a.tre_admin || a.roles.senior_checker);
    case party::owner_or_admin: return a.is_owner || a.tre_admin;
    case party::agent: return a.is_agent;
    case party::admin: return a.tre_admin;
    case party::system: return false;  // the library acts as system, never a caller
  }
  return false;
}

void check_human_review(const round_facts& round, const uuid& reviewer, const actor_facts& who,
                        const human_review_input& input) {
  const airlock_request& req = *round.request;
  if (req.status != request_status::human_review)
    throw error(errc::invalid_transition,
                fmt::format("request is {}; human reviews are recorded only in HUMAN_REVIEW",
                            to_string(req.status)));
  // Rule 3: eligibility.
  if (who.auditor) throw error(errc::forbidden, "reviewer: an auditor is read-only");
  if (!who.roles.any_checker())
    throw error(errc::forbidden,
                who.tre_admin ? "reviewer: tre_admin alone does not grant review rights; an "
                                "output_checker or senior_checker role on the project is needed"
                              : "reviewer: needs the output_checker or senior_checker role on "
                                "the request's project");
  if (who.is_owner) throw error(errc::forbidden, "reviewer: the request's owner may not review it");
  // Rule 4: after an escalation only senior checkers review.
  const review* agent = agent_review_of(round.reviews);
  if (agent && agent->decision == review_decision::escalated && !who.roles.senior_checker)
    throw error(errc::forbidden,
                "reviewer: the agent escalated this round; only a senior_checker may review it");
  for (const auto& r : round.reviews)
    if (r.reviewer_id == reviewer)
      throw error(errc::conflict, fmt::format("reviewer: already reviewed round {} of this request",
                                              req.review_round));
  // The decision itself.
  if (input.decision == review_decision::escalated)
    throw error(errc::invalid_argument,
                "decision: 'escalated' is the agent's; a human decides approved, "
                "changes_requested or rejected");
  if (input.summary.size() > max_review_summary)
    throw error(errc::invalid_argument,
                fmt::format("summary: longer than {} bytes", max_review_summary));
  // A checker who asks for changes or rejects says why.
  if (input.decision != review_decision::approved &&
      input.summary.find_first_not_of(" \t\r\n") == std::string::npos)
    throw error(errc::invalid_argument,
                fmt::format("summary: required when the decision is {}: say what must change "
                            "or why the request is rejected",
                            to_string(input.decision)));
  // Rule 5: accepting the agent's findings needs an agent approval.
  if (input.accepted_agent_findings && !(agent && agent->decision == review_decision::approved))
    throw error(errc::invalid_argument,
                "accepted_agent_findings: allowed only when the agent approved this round");
  // Rule 7: per-object decisions name live objects of this request, once each.
  std::unordered_set<uuid> seen;
  std::size_t rejected = 0, live = 0;
  for (const auto& o : round.objects)
    if (o.state != object_state::superseded) ++live;
  for (std::size_t i = 0; i < input.object_decisions.size(); ++i) {
    const auto& d = input.object_decisions[i];
    const auto it = std::find_if(round.objects.begin(), round.objects.end(),
                                 [&](const output_object& o) { return o.id == d.object_id; });
    if (it == round.objects.end())
      throw error(errc::invalid_argument,
                  fmt::format("object_decisions[{}].object_id: {} is not an object of this request",
                              i, d.object_id.str()));
    if (it->state == object_state::superseded)
      throw error(errc::invalid_argument,
                  fmt::format("object_decisions[{}].object_id: {} is superseded (version {}); "
                              "decide on the live version",
                              i, d.object_id.str(), it->version));
    if (!seen.insert(d.object_id).second)
      throw error(
          errc::invalid_argument,
          fmt::format("object_decisions[{}].object_id: {} is decided twice", i, d.object_id.str()));
    if (d.decision == review_decision::escalated)
      throw error(errc::invalid_argument,
                  fmt::format("object_decisions[{}].decision: must be approved, "
                              "changes_requested or rejected",
                              i));
    if (d.feedback.size() > max_object_feedback)
      throw error(errc::invalid_argument, fmt::format("object_decisions[{}].feedback: longer "
                                                      "than {} bytes",
                                                      i, max_object_feedback));
    if (input.decision == review_decision::approved &&
        d.decision == review_decision::changes_requested)
      throw error(errc::invalid_argument,
                  fmt::format("object_decisions[{}].decision: an approved review may not ask "
                              "for changes",
                              i));
    if (d.decision == review_decision::rejected) ++rejected;
  }
  if (input.decision == review_decision::approved && live > 0 && rejected == live)
    throw error(errc::invalid_argument,
                "object_decisions: an approved review may not reject every live object");
}

std::vector<uuid> hidden_reviews(const airlock_request& request, std::span<const review> reviews,
                                 const uuid& viewer, const actor_facts& a) {
  std::vector<uuid> out;
  if (!round_open(request.status) || !reviews_independently(a)) return out;
  const auto round = request.review_round;
  for (const auto& r : reviews)
    if (r.round == round && r.reviewer_id == viewer) return out;  // reviewed: sees everything
  for (const auto& r : reviews)
    if (r.round == round && r.reviewer_type == reviewer_type::human) out.push_back(r.id);
  return out;
}

std::optional<round_outcome> close_round(const round_facts& round) {
  // Rule 2: enough distinct reviewers (one review per reviewer per round is
  // a database constraint), at least one of them human.
  std::vector<const review*> humans;
  for (const auto& r : round.reviews)
    if (r.reviewer_type == reviewer_type::human) humans.push_back(&r);
  if (humans.empty() || round.reviews.size() < static_cast<std::size_t>(round.required_reviews))
    return std::nullopt;

  // Rule 6: the humans decide; the agent advises.
  round_outcome out;
  int worst = 0;
  std::unordered_map<uuid, review_decision> strictest;
  for (const review* h : humans) {
    if (severity(h->decision) > worst) worst = severity(h->decision);
    for (const auto& d : h->object_decisions) {
      auto [it, fresh] = strictest.emplace(d.object_id, d.decision);
      if (!fresh && severity(d.decision) > severity(it->second)) it->second = d.decision;
    }
  }
  out.to = worst == 3   ? request_status::rejected
           : worst == 2 ? request_status::changes_requested
                        : request_status::approved;

  // Rule 7: each live object takes the strictest decision on it; undecided
  // PENDING objects follow an APPROVED outcome and otherwise stay PENDING.
  for (const auto& o : round.objects) {
    if (o.state == object_state::superseded) continue;
    object_state next = o.state;
    if (auto it = strictest.find(o.id); it != strictest.end())
      next = state_for(it->second);
    else if (o.state == object_state::pending && out.to == request_status::approved)
      next = object_state::approved;
    if (next != o.state && object_transition_allowed(o.state, next))
      out.object_changes.emplace_back(o.id, next);
  }
  return out;
}

std::vector<object_decision> parse_object_decisions(std::string_view findings_json) {
  std::vector<object_decision> out;
  boost::system::error_code ec;
  const auto v = boost::json::parse(findings_json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    const auto* id = o.if_contains("object_id");
    const auto* decision = o.if_contains("decision");
    if (!id || !id->is_string() || !decision || !decision->is_string()) continue;
    auto parsed_id = uuid::parse(id->as_string());
    auto parsed_decision = parse_enum<review_decision>(decision->as_string());
    if (!parsed_id || !parsed_decision) continue;
    object_decision d{*parsed_id, *parsed_decision, {}};
    if (const auto* f = o.if_contains("feedback"); f && f->is_string())
      d.feedback = std::string(f->as_string());
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace trevor
