// workflow: requests — creation, submission, withdrawal, reads, the stuck sweep.
#include <charconv>
#include <iterator>

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "service/workflow_state.hpp"
#include "store/multi_insert.hpp"
#include "store/objects.hpp"
#include "store/requests.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using detail::event_batch;
using mode = detail::transaction::mode;

namespace {
/// What independent review withholds from a hidden review's review.created
/// event (libtrevor/README.md, "Independent review").
constexpr const char* redacted_review_fields[] = {"decision", "accepted_agent_findings",
                                                  "object_decisions"};
}  // namespace

airlock_request request_service::create(const actor& who, const new_request& input) {
  detail::check_text(input.title, "title", max_title_length, true);
  detail::check_text(input.description, "description", max_description_length, false);
  if (input.project_id.is_nil()) throw error(errc::invalid_argument, "project_id: required");
  const uuid id = s_.next_id();
  return detail::run_transaction(s_.db.impl(), mode::write, "create request", [&](connection& c) {
    const auto p = detail::load_project_facts(c, input.project_id, who.user_id);
    if (!p)
      throw error(errc::not_found,
                  fmt::format("project_id: project {} not found", input.project_id.str()));
    detail::require_active(p->actor_active);
    actor_facts a;
    a.auditor = who.auditor;
    a.tre_admin = who.tre_admin && !who.auditor;
    a.roles = p->roles;
    detail::require_party(*first_rule(operation::create, input.direction), a, input.direction);
    if (p->status == project_status::archived)
      throw error(errc::conflict, fmt::format("project_id: project {} is archived and accepts "
                                              "no new requests",
                                              input.project_id.str()));
    airlock_request r;
    r.id = id;
    r.project_id = input.project_id;
    r.direction = input.direction;
    r.title = input.title;
    r.description = input.description;
    r.owner_id = who.user_id;
    // On PostgreSQL the request and its event are one statement; the row's
    // defaults (DRAFT, round 1, both times now()) are known here.
    detail::write_chain w;
    const bool in_chain = c.kind() == engine::postgresql;
    airlock_request stored;
    if (in_chain) {
      detail::add_request(w, r);
      stored = r;
      stored.status = request_status::draft;
      stored.review_round = 1;
    } else {
      stored = detail::insert_request(c, r);
    }
    event_batch batch(s_.ids);
    batch.event(detail::actor_name(who), status_event_type(operation::create, stored.status), id,
                stored.project_id,
                {{"from", nullptr},
                 {"to", to_string(stored.status)},
                 {"direction", to_string(stored.direction)},
                 {"title", stored.title}});
    batch.add_to(w);
    if (const auto now = w.run(c); now && in_chain) stored.created_at = stored.updated_at = *now;
    return stored;
  });
}

airlock_request request_service::submit(const actor& who, const uuid& request_id) {
  return move(who, request_id, operation::submit);
}

airlock_request request_service::resubmit(const actor& who, const uuid& request_id) {
  return move(who, request_id, operation::resubmit);
}

// Submission and resubmission take the optimistic path: the conditional
// UPDATE ... RETURNING is the first statement and returns every fact the
// rules need; when a rule then refuses, throwing rolls the update back. On
// PostgreSQL that is three statements per submission: the update, the audit
// event and the notifications.
airlock_request request_service::move(const actor& who, const uuid& request_id, operation op) {
  const bool again = op == operation::resubmit;
  const request_status from = again ? request_status::changes_requested : request_status::draft;
  const request_status to =
      s_.options.agent_review ? request_status::submitted : request_status::human_review;
  detail::transition_effects effects;
  effects.start_new_round = again;
  effects.stamp_submitted = true;
  return detail::run_transaction(
      s_.db.impl(), mode::write, to_string(op), [&](connection& c) -> airlock_request {
        auto f = detail::transition_request_facts(c, request_id, from, to, effects, who.user_id);
        if (!f) {
          // Nothing was written; say why.
          const auto now = detail::visible_request(c, request_id, who);
          const auto d = now.request.direction;
          detail::require_party(*first_rule(op, d), detail::facts_of(who, now), d);
          require_transition(now.request.status, op, d, to);
          throw error(errc::conflict, "request changed concurrently; retry");
        }
        detail::require_active(f->actor_active);
        const auto a = detail::facts_of(who, *f);
        detail::require_visible(a, request_id);
        const auto& req = f->request;
        detail::require_party(require_transition(from, op, req.direction, to), a, req.direction);
        // The status allows the step (else invalid_transition above); what the
        // request holds does not yet: invalid_argument (HTTP 422).
        if (op == operation::submit) {
          if (f->live_objects == 0)
            throw error(errc::invalid_argument, "submit: the request has no objects");
          if (f->unconfirmed_slots > 0)
            throw error(errc::invalid_argument,
                        fmt::format("submit: {} ingress slot(s) still wait for their upload",
                                    f->unconfirmed_slots));
        } else {
          if (f->changes_requested_objects > 0)
            throw error(errc::invalid_argument,
                        fmt::format("resubmit: {} object(s) are still CHANGES_REQUESTED; replace "
                                    "them first",
                                    f->changes_requested_objects));
          if (f->pending_objects == 0)
            throw error(errc::invalid_argument,
                        "resubmit: no object is PENDING; replace an object first");
        }
        event_batch batch(s_.ids);
        batch.event(detail::actor_name(who), status_event_type(op, to), request_id, req.project_id,
                    detail::status_change(from, to, req.review_round));
        batch.notify(f->checkers, "request.submitted",
                     again ? fmt::format("Request resubmitted for review: {}", req.title)
                           : fmt::format("New request to review: {}", req.title),
                     fmt::format("The {} request \"{}\" is waiting for review (round {}).",
                                 to_string(req.direction), req.title, req.review_round),
                     request_id);
        batch.write(c);
        return req;
      });
}

airlock_request request_service::withdraw(const actor& who, const uuid& request_id,
                                          std::string_view reason) {
  detail::check_text(reason, "reason", max_reason_length, false);
  const bool has_reason = reason.find_first_not_of(" \t\r\n") != std::string_view::npos;
  return detail::run_transaction(s_.db.impl(), mode::write, "withdraw", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    const auto from = f.request.status;
    const auto d = f.request.direction;
    detail::require_party(*first_rule(operation::withdraw, d), detail::facts_of(who, f), d);
    require_transition(from, operation::withdraw, d, request_status::withdrawn);
    detail::transition_effects effects;
    effects.stamp_closed = stamps_closed_at(request_status::withdrawn);
    auto moved =
        detail::transition_request(c, request_id, from, request_status::withdrawn, effects);
    if (!moved) throw error(errc::conflict, "request changed concurrently; retry");
    event_batch batch(s_.ids);
    auto payload = detail::status_change(from, moved->status, moved->review_round);
    if (has_reason) payload["reason"] = reason;
    batch.event(detail::actor_name(who), status_event_type(operation::withdraw, moved->status),
                request_id, moved->project_id, payload);
    batch.write(c);
    return *moved;
  });
}

airlock_request request_service::get(const actor& who, const uuid& request_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "get request", [&](connection& c) {
    return detail::readable_request(c, request_id, who);
  });
}

request_detail request_service::get_detail(const actor& who, const uuid& request_id) const {
  // One statement reads the request, what deciding whether `who` may see it
  // needs, and its live objects: no transaction needed on either engine.
  return detail::run_statement(s_.db.impl(), "get request", [&](connection& c) {
    auto f = detail::load_request_with_objects(c, request_id, who.user_id);
    if (!f) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
    if (!who.is_agent()) detail::require_active(f->facts.actor_active);
    detail::require_visible(detail::facts_of(who, f->facts), request_id);
    request_detail d;
    d.request = std::move(f->facts.request);
    d.objects = std::move(f->objects);
    return d;
  });
}

std::vector<audit_event> request_service::audit_trail(const actor& who,
                                                      const uuid& request_id) const {
  get(who, request_id);  // not_found / forbidden as for every read
  audit_log log(s_.db);
  audit_query q;
  q.request_id = request_id;
  q.order = audit_order::oldest_first;
  q.limit = max_audit_page;
  std::vector<audit_event> events;
  for (;;) {
    auto page = log.query(q);
    std::move(page.items.begin(), page.items.end(), std::back_inserter(events));
    if (page.next_cursor.empty()) break;
    q.cursor = std::move(page.next_cursor);
  }
  if (!s_.options.independent_review) return events;
  // Independent review, decided after the events were read (a review and
  // its event commit together, so none read here escapes the rule): the
  // decision and findings of the reviews hidden from `who` are redacted.
  const auto hidden =
      detail::run_transaction(s_.db.impl(), mode::read, "audit trail", [&](connection& c) {
        const auto f = detail::readable_request_facts(c, request_id, who);
        return detail::reviews_hidden_from(c, f, who, true);
      });
  if (hidden.empty()) return events;
  for (auto& e : events) {
    if (e.event_type != "review.created") continue;
    auto payload = boost::json::parse(e.payload_json).as_object();
    const auto* id = payload.if_contains("review_id");
    const auto parsed = id && id->is_string() ? uuid::parse(id->as_string()) : std::nullopt;
    if (!parsed || !detail::is_hidden(hidden, *parsed)) continue;
    boost::json::array redacted;
    for (const auto* field : redacted_review_fields)
      if (payload.erase(field)) redacted.push_back(boost::json::string(field));
    payload["redacted"] = std::move(redacted);
    e.payload_json = boost::json::serialize(payload);
  }
  return events;
}

std::vector<std::pair<request_status, std::int64_t>> request_service::count_by_status() const {
  return detail::run_transaction(s_.db.impl(), mode::read, "count requests", [&](connection& c) {
    return detail::count_requests_by_status(c);
  });
}

namespace {

// A page cursor: the last request's created_at (microseconds) and id.
std::string encode_request_cursor(const airlock_request& r) {
  return fmt::format("{}.{}", r.created_at.micros(), r.id.str());
}

std::pair<timestamp, uuid> decode_request_cursor(std::string_view text) {
  const auto dot = text.find('.');
  std::int64_t micros = 0;
  const auto digits = text.substr(0, dot);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), micros);
  const auto id = dot == std::string_view::npos ? std::nullopt : uuid::parse(text.substr(dot + 1));
  if (dot == std::string_view::npos || ec != std::errc() || end != digits.data() + digits.size() ||
      !id)
    throw error(errc::invalid_argument, "cursor: not a cursor this server gave out");
  return {timestamp(micros), *id};
}

}  // namespace

std::vector<airlock_request> request_service::list(const actor& who,
                                                   const request_list_filter& filter) const {
  auto all = filter;
  all.limit = 0;
  all.cursor.clear();
  return list_page(who, all).items;
}

request_page request_service::list_page(const actor& who, const request_list_filter& filter) const {
  if (filter.limit > max_request_page)
    throw error(errc::invalid_argument,
                fmt::format("limit: at most {}, not {}", max_request_page, filter.limit));
  detail::request_filter f;
  f.project_id = filter.project_id;
  f.status = filter.status;
  if (!filter.cursor.empty()) f.before = decode_request_cursor(filter.cursor);
  // One more than asked for tells whether there is a next page.
  f.limit = filter.limit == 0 ? 0 : filter.limit + 1;
  return detail::run_transaction(s_.db.impl(), mode::read, "list requests", [&](connection& c) {
    if (!who.is_agent()) detail::require_active_user(c, who);
    if (!who.oversees() && !who.is_agent()) f.member_id = who.user_id;
    request_page page;
    page.items = detail::list_requests(c, f);
    if (filter.limit != 0 && page.items.size() > filter.limit) {
      page.items.resize(filter.limit);
      page.next_cursor = encode_request_cursor(page.items.back());
    }
    return page;
  });
}

}  // namespace trevor
