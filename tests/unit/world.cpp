#include "world.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>

namespace trevor::test {

byte_reader bytes_of(std::string content, std::size_t chunk) {
  auto data = std::make_shared<std::string>(std::move(content));
  auto pos = std::make_shared<std::size_t>(0);
  return [data, pos, chunk](char* buf, std::size_t cap) -> std::size_t {
    const std::size_t n = std::min({chunk, cap, data->size() - *pos});
    std::copy_n(data->data() + *pos, n, buf);
    *pos += n;
    return n;
  };
}

world::world(workflow_options options, bool sqlite_file, std::size_t pool_size)
    : fdb(true, pool_size, sqlite_file),
      blobs(blob_dir.path() + "/blobs"),
      dir(fdb.db()),
      flow(fdb.db(), blobs, options),
      box(fdb.db()) {
  admin = actor_for("admin", true);
  proj = [&] {
    const project_spec spec{uuid::v7(), "proj-alpha", "Project Alpha"};
    dir.reconcile_projects(admin, std::span(&spec, 1));
    return dir.get_project(spec.id);
  }();
  r1 = actor_for("rita");
  r2 = actor_for("ravi");
  c1 = actor_for("chen");
  c2 = actor_for("carla");
  s1 = actor_for("sam");
  outsider = actor_for("otto");
  dir.add_membership(admin, r1.user_id, proj.id, membership_role::researcher);
  dir.add_membership(admin, r2.user_id, proj.id, membership_role::researcher);
  dir.add_membership(admin, c1.user_id, proj.id, membership_role::output_checker);
  dir.add_membership(admin, c2.user_id, proj.id, membership_role::output_checker);
  dir.add_membership(admin, s1.user_id, proj.id, membership_role::senior_checker);
}

user world::make_user(const std::string& username) {
  return dir.upsert_user(
      {"sub-" + username, username, username + "@example.org", username, "Tester", "Test Lab"});
}

actor world::actor_for(const std::string& username, bool tre_admin) {
  return actor{make_user(username).id, tre_admin};
}

airlock_request world::draft(int objects, const std::string& title) {
  auto r = flow.requests.create(r1, {proj.id, direction::egress, title, "for the paper"});
  for (int i = 0; i < objects; ++i)
    upload(r1, r.id, "table" + std::to_string(i + 1) + ".csv", "n,mean\n" + std::to_string(i));
  return r;
}

output_object world::upload(const actor& who, const uuid& request_id, const std::string& filename,
                            const std::string& content) {
  new_object o;
  o.filename = filename;
  o.output_type = output_type::tabular;
  o.statbarn = "frequency_table";
  return flow.objects.add(who, request_id, o, bytes_of(content));
}

airlock_request world::submitted(int objects) {
  const auto r = draft(objects);
  return flow.requests.submit(r1, r.id);
}

review world::agent_review(const uuid& request_id, review_decision decision,
                           const std::string& summary) {
  return flow.reviews.record_agent_review(agent, request_id, {decision, summary, "[]"});
}

std::vector<audit_event> world::trail(const uuid& request_id) {
  audit_log log(fdb.db());
  audit_query q;
  q.request_id = request_id;
  q.order = audit_order::oldest_first;
  q.limit = max_audit_page;
  return log.query(q).items;
}

long long world::rows(const std::string& table) {
  return fdb.count("SELECT count(*) FROM " + table);
}

std::size_t world::blob_files() {
  return files_under(blobs.root());
}

long long world::notified(const actor& who, const std::string& event_type, const uuid& request_id) {
  const auto items = box.list(who, 100).items;
  return std::count_if(items.begin(), items.end(), [&](const notification& n) {
    return n.event_type == event_type && n.request_id == request_id;
  });
}

boost::json::object payload_of(const audit_event& e) {
  return boost::json::parse(e.payload_json).as_object();
}

human_review_input decide(review_decision d, const std::string& summary) {
  human_review_input in;
  in.decision = d;
  in.summary = summary;
  return in;
}

}  // namespace trevor::test
