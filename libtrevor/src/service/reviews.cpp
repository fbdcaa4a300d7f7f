// workflow: reviews — human reviews and the round they close, the agent's review.
#include <algorithm>

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "service/workflow_state.hpp"
#include "store/multi_insert.hpp"
#include "store/objects.hpp"
#include "store/requests.hpp"
#include "store/reviews.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using detail::event_batch;
using mode = detail::transaction::mode;

namespace {

/// A new review of the request's current round.
review review_row(const uuid& id, const airlock_request& req, reviewer_type type,
                  std::optional<uuid> reviewer, review_decision decision, std::string summary,
                  std::string findings_json) {
  review r;
  r.id = id;
  r.request_id = req.id;
  r.round = req.review_round;
  r.reviewer_type = type;
  r.reviewer_id = reviewer;
  r.decision = decision;
  r.summary = std::move(summary);
  r.findings_json = std::move(findings_json);
  return r;
}

/// The payload of review.created every review has.
boost::json::object review_created(const review& r) {
  return {{"review_id", r.id.str()},
          {"round", r.round},
          {"reviewer_type", to_string(r.reviewer_type)},
          {"decision", to_string(r.decision)}};
}

const output_object& find_in(const std::vector<output_object>& objects, const uuid& id) {
  for (const auto& o : objects)
    if (o.id == id) return o;
  throw error(errc::internal, fmt::format("object {} vanished during the review", id.str()));
}

/// Rule 8: each per-object feedback text is appended to the logical object's
/// checker_feedback, stamped with the review's (database) time.
void append_feedback(connection& c, const review& r, const std::vector<output_object>& objects,
                     const std::vector<object_decision>& decisions) {
  for (const auto& d : decisions) {
    if (d.feedback.empty()) continue;
    const auto& o = find_in(objects, d.object_id);
    auto m = detail::find_metadata(c, o.logical_object_id);
    if (!m) throw error(errc::internal, "object metadata missing");
    auto feedback = boost::json::parse(m->checker_feedback_json);
    feedback.as_array().push_back({{"reviewer_id", r.reviewer_id ? r.reviewer_id->str() : ""},
                                   {"version", o.version},
                                   {"feedback", d.feedback},
                                   {"created_at", r.created_at.str()}});
    m->checker_feedback_json = boost::json::serialize(feedback);
    if (!detail::update_metadata(c, *m))
      throw error(errc::conflict, "metadata changed concurrently; retry");
  }
}

std::string_view outcome_word(request_status s) {
  return s == request_status::approved   ? "approved"
         : s == request_status::rejected ? "rejected"
                                         : "returned for changes";
}

}  // namespace

review review_service::record(const actor& who, const uuid& request_id,
                              const human_review_input& input) {
  const uuid review_id = s_.next_id();
  return detail::run_transaction(s_.db.impl(), mode::write, "record review", [&](connection& c) {
    // One statement reads the request's facts (taking its row lock), this
    // round's reviews and every object. A review committed while the lock
    // waited is not among them (rule 9: the second of two simultaneous
    // reviewers must see the first): the guard below makes the writes fail
    // and the whole transaction run again, reading afresh.
    auto read = detail::load_review_round(c, request_id, who.user_id);
    if (!read) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
    const auto& f = read->facts;
    if (!who.is_agent()) detail::require_active(f.actor_active);
    detail::require_visible(detail::facts_of(who, f), request_id);
    const auto& req = f.request;
    auto& reviews = read->reviews;
    const auto& objects = read->objects;
    const std::size_t seen = reviews.size();
    round_facts round{&req, reviews, objects, s_.options.required_reviews};
    check_human_review(round, who.user_id, detail::facts_of(who, f), input);

    auto r = review_row(review_id, req, reviewer_type::human, who.user_id, input.decision,
                        input.summary, detail::findings_json_of(input.object_decisions));
    r.accepted_agent_findings = input.accepted_agent_findings;
    // Every write of the review in one chain (one statement on PostgreSQL);
    // feedback, which appends to the objects' metadata with the review's
    // time, is written first on its own.
    const bool feedback = std::any_of(input.object_decisions.begin(), input.object_decisions.end(),
                                      [](const object_decision& d) { return !d.feedback.empty(); });
    const bool in_chain = c.kind() == engine::postgresql && !feedback;
    detail::write_chain w;
    review stored;
    if (in_chain) {
      detail::add_review(w, r);
      stored = r;
      stored.object_decisions = detail::read_object_decisions(r.id, r.findings_json);
    } else {
      stored = detail::insert_review(c, r);
      append_feedback(c, stored, objects, stored.object_decisions);
    }
    detail::guard_round_reviews(w, request_id, req.review_round, seen + (in_chain ? 0 : 1));

    event_batch batch(s_.ids);
    auto created = review_created(stored);
    created["accepted_agent_findings"] = stored.accepted_agent_findings;
    created["object_decisions"] = boost::json::parse(stored.findings_json);
    batch.event(detail::actor_name(who), "review.created", request_id, req.project_id, created);

    reviews.push_back(stored);
    round.reviews = reviews;
    if (const auto outcome = close_round(round)) {
      require_transition(req.status, operation::close_round, req.direction, outcome->to);
      detail::transition_effects effects;
      effects.stamp_closed = stamps_closed_at(outcome->to);
      detail::add_transition(w, request_id, req.status, outcome->to, effects);
      auto change = detail::status_change(req.status, outcome->to, req.review_round);
      boost::json::array reviewers;
      for (const auto& v : reviews) reviewers.push_back(boost::json::string(v.id.str()));
      change["reviews"] = std::move(reviewers);
      batch.event(std::string(system_actor), status_event_type(operation::close_round, outcome->to),
                  request_id, req.project_id, change);
      for (const auto& [object_id, state] : outcome->object_changes) {
        const auto& o = find_in(objects, object_id);
        detail::add_object_state(w, object_id, o.state, state);
        batch.event(std::string(system_actor), "object.state_changed", request_id, req.project_id,
                    detail::object_state_change(o, state));
      }
      batch.notify({req.owner_id}, status_event_type(operation::close_round, outcome->to),
                   fmt::format("Request {}: {}", outcome_word(outcome->to), req.title),
                   fmt::format("Round {} of the request \"{}\" closed: {}.", req.review_round,
                               req.title, to_string(outcome->to)),
                   request_id);
    }
    batch.add_to(w);
    const auto now = w.run(c);
    if (in_chain) stored.created_at = *now;
    return stored;
  });
}

airlock_request review_service::start_agent_review(const agent_credential& agent,
                                                   const uuid& request_id) {
  const uuid nobody;
  const auto name = agent.audit_actor();
  return detail::run_transaction(
      s_.db.impl(), mode::write, "start agent review", [&](connection& c) -> airlock_request {
        auto f = detail::transition_request_facts(c, request_id, request_status::submitted,
                                                  request_status::agent_review, {}, nobody);
        if (!f) {
          const auto now = detail::load_request_facts(c, request_id, nobody, false);
          if (!now)
            throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
          require_transition(now->request.status, operation::start_agent_review,
                             now->request.direction, request_status::agent_review);
          throw error(errc::conflict, "request changed concurrently; retry");
        }
        const auto& req = f->request;
        event_batch batch(s_.ids);
        batch.event(name, status_event_type(operation::start_agent_review, req.status), request_id,
                    req.project_id,
                    detail::status_change(request_status::submitted, req.status, req.review_round));
        batch.write(c);
        return req;
      });
}

namespace detail {

int fail_agent_review_in(connection& c, workflow_state& s, const uuid& request_id,
                         const std::string& actor_name, std::string_view reason) {
  std::string why(reason.substr(0, 1000));
  for (auto& ch : why)
    if (ch == '\n' || ch == '\r') ch = ' ';
  auto moved = transition_request(c, request_id, request_status::agent_review,
                                  request_status::submitted, {});
  if (!moved) {
    const auto now = find_request(c, request_id);
    if (!now) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
    require_transition(now->status, operation::fail_agent_review, now->direction,
                       request_status::submitted);
    throw error(errc::conflict, "request changed concurrently; retry");
  }
  const int attempt = static_cast<int>(agent_review_failures(c, request_id)) + 1;
  event_batch batch(s.ids);
  auto payload =
      status_change(request_status::agent_review, request_status::submitted, moved->review_round);
  payload["reason"] = why;
  payload["attempt"] = attempt;
  batch.event(actor_name,
              status_event_type(operation::fail_agent_review, request_status::submitted),
              request_id, moved->project_id, payload);
  batch.write(c);
  return attempt;
}

}  // namespace detail

int review_service::fail_agent_review(const agent_credential& agent, const uuid& request_id,
                                      std::string_view reason) {
  return detail::run_transaction(
      s_.db.impl(), mode::write, "fail agent review", [&](connection& c) {
        return detail::fail_agent_review_in(c, s_, request_id, agent.audit_actor(), reason);
      });
}

int review_service::agent_review_attempts(const uuid& request_id) const {
  return detail::run_transaction(
      s_.db.impl(), mode::read, "agent review attempts", [&](connection& c) {
        return static_cast<int>(detail::agent_review_failures(c, request_id));
      });
}

review review_service::record_agent_review(const agent_credential& agent, const uuid& request_id,
                                           const agent_review_input& input) {
  const auto name = agent.audit_actor();
  if (input.summary.size() > max_review_summary)
    throw error(errc::invalid_argument,
                fmt::format("summary: longer than {} bytes", max_review_summary));
  detail::require_json(input.findings_json, "findings");
  const uuid review_id = s_.next_id();
  const uuid nobody;
  return detail::run_transaction(
      s_.db.impl(), mode::write, "record agent review", [&](connection& c) {
        auto f = detail::load_request_facts(c, request_id, nobody, /*lock=*/true);
        if (!f) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
        const auto& req = f->request;
        event_batch batch(s_.ids);
        request_status at = req.status;
        if (at == request_status::submitted) {
          // Started and recorded in one call: both steps are in the table.
          require_transition(at, operation::record_agent_review, req.direction,
                             request_status::agent_review);
          if (!detail::transition_request(c, request_id, at, request_status::agent_review, {}))
            throw error(errc::conflict, "request changed concurrently; retry");
          batch.event(
              name, status_event_type(operation::record_agent_review, request_status::agent_review),
              request_id, req.project_id,
              detail::status_change(at, request_status::agent_review, req.review_round));
          at = request_status::agent_review;
        }
        require_transition(at, operation::record_agent_review, req.direction,
                           request_status::human_review);
        const auto stored = detail::insert_review(
            c, review_row(review_id, req, reviewer_type::agent, std::nullopt, input.decision,
                          input.summary, input.findings_json));
        if (!detail::transition_request(c, request_id, at, request_status::human_review, {}))
          throw error(errc::conflict, "request changed concurrently; retry");
        batch.event(name, "review.created", request_id, req.project_id, review_created(stored));
        batch.event(name,
                    status_event_type(operation::record_agent_review, request_status::human_review),
                    request_id, req.project_id,
                    detail::status_change(at, request_status::human_review, req.review_round));
        batch.notify(f->checkers, "agent_review.ready",
                     fmt::format("Agent review ready: {}", req.title),
                     fmt::format("The automated review of \"{}\" recommends: {}. It now waits for "
                                 "human review.",
                                 req.title, to_string(stored.decision)),
                     request_id);
        batch.write(c);
        return stored;
      });
}

std::vector<review> review_service::list(const actor& who, const uuid& request_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "list reviews", [&](connection& c) {
    const auto f = detail::readable_request_facts(c, request_id, who);
    auto all = detail::list_reviews(c, request_id, std::nullopt);
    // Independent review: the other humans' reviews of an open round are
    // left out for a checker who has not reviewed it yet (decided on the
    // reviews just read, so none committed since can slip through).
    if (!s_.options.independent_review) return all;
    const auto hidden = hidden_reviews(f.request, all, who.user_id, detail::facts_of(who, f));
    std::erase_if(all, [&](const review& r) {
      return std::find(hidden.begin(), hidden.end(), r.id) != hidden.end();
    });
    return all;
  });
}

review review_service::get(const actor& who, const uuid& request_id, const uuid& review_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "get review", [&](connection& c) {
    const auto f = detail::readable_request_facts(c, request_id, who);
    auto r = detail::find_review(c, review_id);
    const auto not_found = [&] {
      return error(errc::not_found, fmt::format("review {} not found in request {}",
                                                review_id.str(), request_id.str()));
    };
    if (!r || r->request_id != request_id) throw not_found();
    // A review hidden by the independent-review rule is not found, as if it
    // did not exist yet.
    if (detail::is_hidden(detail::reviews_hidden_from(c, f, who, s_.options.independent_review),
                          r->id))
      throw not_found();
    return *r;
  });
}

}  // namespace trevor
