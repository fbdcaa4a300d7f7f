#pragma once
// reviews (internal repository; rows are immutable). Runs in the caller's transaction.

#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "store/query.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// The per-object decisions of a human review's stored findings (the format
/// findings_json_of() writes); a malformed entry is error(internal).
std::vector<object_decision> read_object_decisions(const uuid& review_id, std::string_view json);

/// reviews: the columns every statement reads and their reader. A human
/// review's findings are read into its typed object_decisions too.
struct review_row {
  static constexpr sql_text columns{
      "id, request_id, round, reviewer_type, reviewer_id, decision, accepted_agent_findings, "
      "summary, findings, {t:created_at}"};

  static review read(row_reader& r) {
    review v;
    v.id = r.uuid();
    v.request_id = r.uuid();
    v.round = r.i64();
    v.reviewer_type = r.enum_<reviewer_type>();
    v.reviewer_id = r.opt_uuid();
    v.decision = r.enum_<review_decision>();
    v.accepted_agent_findings = r.boolean();
    v.summary = r.text();
    v.findings_json = r.text();
    v.created_at = r.ts();
    if (v.reviewer_type == reviewer_type::human)
      v.object_decisions = read_object_decisions(v.id, v.findings_json);
    return v;
  }
};

/// The findings column of a human review: its per-object decisions as a
/// JSON array of {"object_id", "decision", "feedback"}. Reading a human
/// review parses it back into review::object_decisions; a malformed stored
/// value is error(internal).
std::string findings_json_of(const std::vector<object_decision>& decisions);

/// Throws conflict when this reviewer (or the agent) already reviewed the round.
review insert_review(connection& c, const review& r);
std::optional<review> find_review(connection& c, const uuid& id);
/// Reviews of a request, oldest first; of one round only when given.
std::vector<review> list_reviews(connection& c, const uuid& request_id,
                                 std::optional<std::int64_t> round);

class write_chain;
/// insert_review() as one write of a transition's chain; the row's
/// created_at is the chain's time (write_chain::run()).
void add_review(write_chain& w, const review& r);
/// Guards a chain with the number of reviews round `round` of the request
/// had when read (`seen`): a review committed since makes the chain retry.
void guard_round_reviews(write_chain& w, const uuid& request_id, std::int64_t round,
                         std::size_t seen);

}  // namespace trevor::detail
