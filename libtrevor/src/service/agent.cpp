// The built-in agent: claims SUBMITTED requests and records its SDC review.
#include "trevor/agent.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "trevor/error.hpp"

namespace trevor {

namespace {

using clock = std::chrono::steady_clock;

bool is_live(const output_object& o) {
  return o.state != object_state::superseded;
}

}  // namespace

struct sdc_agent::state {
  state(workflow& f, blob_store& b, directory& d, sdc_agent_options o)
      : flow(f),
        blobs(b),
        people(d),
        options(std::move(o)),
        reader(actor::of_agent(options.credential)) {}

  workflow& flow;
  blob_store& blobs;
  directory& people;
  sdc_agent_options options;
  actor reader;
  std::mutex mutex;
  std::map<uuid, clock::time_point> not_before;  // back-off after a failed attempt

  sdc_assessment assess(const actor& who, const airlock_request& req);
  review escalate(const uuid& request_id, const sdc::policy& p, const std::string& reason,
                  int attempts);
};

sdc_assessment sdc_agent::state::assess(const actor& who, const airlock_request& req) {
  const sdc::policy p = flow.options().sdc_policy.effective(
      req.project_id.str(), people.get_project(req.project_id).name);
  auto objects = flow.objects.list(who, req.id);
  std::erase_if(objects, [](const output_object& o) { return !is_live(o); });
  // The round's objects: those waiting for a decision (all live ones when
  // none is, as after a resubmission that kept every object).
  if (std::any_of(objects.begin(), objects.end(),
                  [](const output_object& o) { return o.state == object_state::pending; }))
    std::erase_if(objects, [](const output_object& o) { return o.state != object_state::pending; });

  std::map<std::string, const output_object*> by_name;
  for (const auto& o : objects) by_name.emplace(o.filename, &o);
  std::vector<const output_object*> evidence_files;
  for (const auto& o : objects) {
    const auto name = sdc::evidence_filename(o.filename);
    if (name != o.filename)
      if (auto it = by_name.find(name); it != by_name.end()) evidence_files.push_back(it->second);
  }
  const auto is_evidence = [&](const output_object& o) {
    return std::find(evidence_files.begin(), evidence_files.end(), &o) != evidence_files.end();
  };

  sdc_assessment out;
  for (const auto& o : objects) {
    if (is_evidence(o) || o.supporting) continue;  // for the checkers, not outputs
    const auto m = flow.objects.metadata(who, req.id, o.id);
    sdc::object_input in;
    in.object_id = o.id.str();
    in.filename = o.filename;
    in.output_type = o.output_type;
    in.statbarn = o.statbarn;
    in.researcher_justification = m.researcher_justification;
    in.content = blobs.open(o.storage_key);
    if (auto it = by_name.find(sdc::evidence_filename(o.filename));
        it != by_name.end() && it->second != &o)
      in.evidence = sdc::evidence_input{it->second->filename, blobs.open(it->second->storage_key)};
    out.objects.push_back(sdc::check_object(std::move(in), p));
  }
  out.decision = sdc::decide(std::span<const sdc::object_findings>(out.objects));
  out.summary = sdc::summary(out.objects);
  out.findings_json = sdc::findings_json(p, out.objects);
  out.policy_id = sdc::policy_id(p);
  return out;
}

review sdc_agent::state::escalate(const uuid& request_id, const sdc::policy& p,
                                  const std::string& reason, int attempts) {
  boost::json::object findings{{"policy", boost::json::parse(sdc::policy_document(p))},
                               {"objects", boost::json::array{}},
                               {"error", reason},
                               {"attempts", attempts}};
  agent_review_input in;
  in.decision = review_decision::escalated;
  in.summary = fmt::format(
      "The agent could not check this request ({} failed attempts; the last: {}). A senior "
      "checker decides.",
      attempts, reason.substr(0, 500));
  in.findings_json = boost::json::serialize(findings);
  return flow.reviews.record_agent_review(options.credential, request_id, in);
}

sdc_agent::sdc_agent(workflow& flow, blob_store& blobs, directory& people,
                     sdc_agent_options options)
    : state_(std::make_unique<state>(flow, blobs, people, std::move(options))) {
  if (state_->options.max_attempts < 1)
    throw error(errc::invalid_argument, "agent max_attempts: must be at least 1");
}

sdc_agent::~sdc_agent() = default;

sdc::policy sdc_agent::policy_for(const uuid& project_id) const {
  return state_->flow.options().sdc_policy.effective(project_id.str(),
                                                     state_->people.get_project(project_id).name);
}

sdc_assessment sdc_agent::preview(const actor& who, const uuid& request_id) {
  const auto req = state_->flow.requests.get(who, request_id);
  return state_->assess(who, req);
}

std::vector<sdc_agent_outcome> sdc_agent::run_once(std::size_t limit) {
  auto& s = *state_;
  auto waiting = s.flow.requests.list(s.reader, {.status = request_status::submitted});
  std::sort(waiting.begin(), waiting.end(), [](const auto& a, const auto& b) {
    return a.updated_at < b.updated_at || (a.updated_at == b.updated_at && a.id < b.id);
  });
  std::vector<sdc_agent_outcome> out;
  for (const auto& candidate : waiting) {
    if (out.size() >= limit) break;
    {
      std::lock_guard lock(s.mutex);
      auto it = s.not_before.find(candidate.id);
      if (it != s.not_before.end() && clock::now() < it->second) continue;
    }
    airlock_request req;
    try {
      req = s.flow.reviews.start_agent_review(s.options.credential, candidate.id);
    } catch (const error& e) {
      // Another agent claimed it, or it moved on (withdrawn, ...).
      if (e.code() == errc::conflict || e.code() == errc::invalid_transition ||
          e.code() == errc::not_found)
        continue;
      throw;
    }
    sdc_agent_outcome o;
    o.request_id = req.id;
    const int earlier = s.flow.reviews.agent_review_attempts(req.id);
    if (earlier >= s.options.max_attempts) {
      // Interrupted reviews (the sweep's failures) count as attempts too.
      o.attempt = earlier;
      o.recorded =
          s.escalate(req.id, policy_for(req.project_id), "earlier attempts failed", earlier);
      out.push_back(std::move(o));
      continue;
    }
    try {
      auto a = s.assess(s.reader, req);
      o.recorded = s.flow.reviews.record_agent_review(s.options.credential, req.id,
                                                      {a.decision, a.summary, a.findings_json});
      std::lock_guard lock(s.mutex);
      s.not_before.erase(req.id);
    } catch (const std::exception& e) {
      o.failure = e.what();
      try {
        o.attempt = s.flow.reviews.fail_agent_review(s.options.credential, req.id, o.failure);
      } catch (const error&) {
        out.push_back(std::move(o));  // it moved on meanwhile (the sweep returned it)
        continue;
      }
      if (o.attempt >= s.options.max_attempts) {
        try {
          s.flow.reviews.start_agent_review(s.options.credential, req.id);
          o.recorded = s.escalate(req.id, policy_for(req.project_id), o.failure, o.attempt);
        } catch (const error& again) {
          if (again.code() != errc::conflict && again.code() != errc::invalid_transition) throw;
        }
      } else {
        std::lock_guard lock(s.mutex);
        s.not_before[req.id] = clock::now() + s.options.backoff * (1 << (o.attempt - 1));
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace trevor
