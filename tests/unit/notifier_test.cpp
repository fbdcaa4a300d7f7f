// The notifier: notification rows delivered by e-mail to a real SMTP server
// (python3-aiosmtpd) and by signed webhook to an in-process listener, on
// each engine; retries, giving up, skipping, two notifiers on one database,
// and the admin read model.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "notify_support.hpp"
#include "world.hpp"

using namespace trevor;
using namespace std::chrono_literals;
using trevor::test::fresh_database;
using trevor::test::smtp_sink;
using trevor::test::wait_until;
using trevor::test::webhook_receiver;
using trevor::test::world;

namespace {

const std::string secret = "a-webhook-secret-of-at-least-32-bytes!";
const std::string public_url = "https://airlock.example.org/";

notifier_options options_for(const smtp_sink* sink, const webhook_receiver* hook) {
  notifier_options o;
  if (sink) {
    smtp_options m;
    m.url = sink->url();
    m.from = "trevor@airlock.example.org";
    m.tls = smtp_tls::off;  // aiosmtpd offers no STARTTLS
    o.email = m;
  }
  if (hook) o.webhook = webhook_options{hook->url(), secret};
  o.public_url = public_url;
  o.backoff = 150ms;
  o.max_backoff = 1s;
  o.timeout = 5s;
  return o;
}

/// Runs `n` until a run makes no attempt; returns every attempt.
std::vector<delivery_attempt> drain(notifier& n) {
  std::vector<delivery_attempt> all;
  for (;;) {
    auto some = n.run_once(16);
    if (some.empty()) return all;
    all.insert(all.end(), some.begin(), some.end());
  }
}

}  // namespace

TEST_CASE("notifier: a submitted request reaches its checkers by e-mail, naming it, with its URL") {
  world w;
  smtp_sink sink;
  notifier n(w.fdb.db(), options_for(&sink, nullptr));
  const auto req = w.submitted();  // chen, carla and sam are notified (request.submitted)
  const auto attempts = drain(n);
  CHECK(attempts.size() == 3);
  for (const auto& a : attempts) CHECK(a.outcome == attempt_outcome::delivered);

  const auto mails = sink.messages();
  REQUIRE(mails.size() == 3);
  std::set<std::string> to;
  for (const auto& m : mails) {
    REQUIRE(m.recipients.size() == 1);
    to.insert(m.recipients[0]);
    CHECK(m.envelope_from == "trevor@airlock.example.org");
    CHECK(m.headers.at("to") == m.recipients[0]);
    CHECK(m.headers.at("subject") == "[trevor] New request to review: Regression tables");
    CHECK(m.headers.at("content-type") == "text/plain; charset=utf-8");
    const auto url = "https://airlock.example.org/requests/" + req.id.str();
    CHECK_MESSAGE(m.body.find("Link: " + url + "\n") != std::string::npos, m.body);
    CHECK(m.body.find("Request: Regression tables\n") != std::string::npos);
    CHECK(m.body.find("What happened: submitted for review") != std::string::npos);
    // Never the file contents (world::draft uploads "n,mean\n0").
    CHECK(m.body.find("n,mean") == std::string::npos);
  }
  CHECK(to == std::set<std::string>{"chen@example.org", "carla@example.org", "sam@example.org"});

  // Every attempt recorded; every delivery settled; nothing sent twice.
  CHECK(w.fdb.count("SELECT count(*) FROM notification_delivery_attempts WHERE channel = 'email' "
                    "AND outcome = 'delivered' AND attempt = 1") == 3);
  CHECK(w.fdb.count("SELECT count(*) FROM notification_deliveries WHERE state = 'delivered' "
                    "AND claimed_by IS NULL") == 3);
  CHECK(n.run_once().empty());
  CHECK(sink.messages().size() == 3);
}

TEST_CASE("notifier: a non-ASCII title is an encoded Subject and quoted-printable text") {
  world w;
  smtp_sink sink;
  notifier n(w.fdb.db(), options_for(&sink, nullptr));
  auto r = w.flow.requests.create(
      w.r1, {w.proj.id, direction::egress, "Tabelle Größe ≥ 10 — ok", "for the paper"});
  w.upload(w.r1, r.id, "t.csv");
  w.flow.requests.submit(w.r1, r.id);
  drain(n);
  const auto mails = sink.messages();
  REQUIRE(mails.size() == 3);
  CHECK(mails[0].headers.at("subject").starts_with("=?UTF-8?B?"));
  CHECK(mails[0].raw.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos);
  CHECK(mails[0].body.find("Request: Tabelle Größe ≥ 10 — ok\n") != std::string::npos);
}

TEST_CASE("notifier: STARTTLS required sends nothing to a server without it; opportunistic does") {
  world w;
  smtp_sink sink;  // aiosmtpd without TLS: it offers no STARTTLS
  auto required = options_for(&sink, nullptr);
  required.email->tls = smtp_tls::required;
  required.max_attempts = 1;
  notifier strict(w.fdb.db(), required);
  w.submitted();
  const auto attempts = strict.run_once();
  REQUIRE(attempts.size() == 3);
  for (const auto& a : attempts) {
    CHECK(a.outcome == attempt_outcome::given_up);
    CHECK_MESSAGE(a.error.find("SSL") != std::string::npos, a.error);
  }
  CHECK(sink.messages().empty());

  auto relaxed = options_for(&sink, nullptr);
  relaxed.email->tls = smtp_tls::opportunistic;
  notifier lenient(w.fdb.db(), relaxed);
  CHECK(lenient.run_once().empty());  // given up is final
  const auto again =
      w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Second", "for the paper"});
  w.upload(w.r1, again.id, "t.csv");
  w.flow.requests.submit(w.r1, again.id);
  CHECK(lenient.run_once().size() == 3);
  CHECK(sink.messages().size() == 3);
}

TEST_CASE("notifier: webhooks are signed, carry the id as idempotency key, each arrives") {
  world w;
  webhook_receiver hook(secret);
  notifier n(w.fdb.db(), options_for(nullptr, &hook));
  const auto req = w.submitted();
  w.flow.reviews.record(w.c1, req.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, req.id, test::decide(review_decision::approved));  // owner notified
  drain(n);
  const auto ids = w.fdb.count("SELECT count(*) FROM notifications");
  REQUIRE(ids == 4);
  const auto hooks = hook.hooks();
  REQUIRE(hooks.size() == 4);
  std::set<std::string> seen;
  for (const auto& h : hooks) {
    CHECK(h.signature_valid);
    const auto body = boost::json::parse(h.body).as_object();
    CHECK(h.idempotency_key == std::string(body.at("id").as_string()));
    CHECK(h.event == std::string(body.at("event_type").as_string()));
    CHECK(std::string(body.at("request").at("url").as_string()) ==
          "https://airlock.example.org/requests/" + req.id.str());
    CHECK(std::string(body.at("request").at("title").as_string()) == "Regression tables");
    CHECK(body.at("recipient").at("email").is_string());
    seen.insert(h.idempotency_key);
  }
  CHECK(seen.size() == 4);
  CHECK(w.fdb.count("SELECT count(*) FROM notifications n WHERE EXISTS (SELECT 1 FROM "
                    "notification_delivery_attempts a WHERE a.notification_id = n.id "
                    "AND a.channel = 'webhook' AND a.outcome = 'delivered')") == 4);
  // A tampered body or timestamp fails the receiver's check.
  CHECK(test::expected_signature(secret, hooks[0].timestamp, hooks[0].body + " ") !=
        hooks[0].signature.substr(3));
  CHECK(webhook_signature(secret, hooks[0].timestamp, hooks[0].body) ==
        hooks[0].signature.substr(3));
}

TEST_CASE("notifier: e-mail skips users without an address (counted), the webhook does not") {
  world w;
  smtp_sink sink;
  webhook_receiver hook(secret);
  w.fdb.exec(fmt::format("UPDATE users SET email = '' WHERE id = '{}'", w.c1.user_id.str()));
  w.fdb.exec(
      fmt::format("UPDATE users SET email = 'not an address' WHERE id = '{}'", w.c2.user_id.str()));
  notifier n(w.fdb.db(), options_for(&sink, &hook));
  w.submitted();
  const auto attempts = drain(n);
  std::map<std::string, int> skipped;
  for (const auto& a : attempts)
    if (a.outcome == attempt_outcome::skipped) ++skipped[a.skip_reason];
  CHECK(skipped == std::map<std::string, int>{{"invalid_address", 1}, {"no_address", 1}});
  CHECK(sink.messages().size() == 1);  // sam
  CHECK(hook.count() == 3);            // the webhook names everyone
  CHECK(w.fdb.count("SELECT count(*) FROM notification_deliveries WHERE channel = 'email' AND "
                    "state = 'skipped'") == 2);
  CHECK(w.fdb.count("SELECT count(*) FROM notification_delivery_attempts WHERE outcome = "
                    "'skipped' AND error = 'the user has no e-mail address'") == 1);
  CHECK(n.run_once().empty());  // skipped is final
}

TEST_CASE("notifier: with the SMTP server down nothing is lost; it is delivered once it returns") {
  world w;
  smtp_sink sink;
  sink.stop();
  notifier n(w.fdb.db(), options_for(&sink, nullptr));
  w.submitted();
  auto first = n.run_once();
  REQUIRE(first.size() == 3);
  for (const auto& a : first) {
    CHECK(a.outcome == attempt_outcome::failed);
    CHECK(a.attempt == 1);
    CHECK(a.error.starts_with("SMTP"));
  }
  // Not due again before the back-off (150 ms).
  CHECK(n.run_once().empty());
  CHECK(w.fdb.count("SELECT count(*) FROM notification_deliveries WHERE state = 'pending' AND "
                    "attempts = 1 AND last_error <> '' AND claimed_by IS NULL") == 3);
  // A second failure doubles the wait.
  REQUIRE(wait_until([&] { return !n.run_once().empty(); }));
  CHECK(w.fdb.count("SELECT count(*) FROM notification_delivery_attempts WHERE outcome = "
                    "'failed'") >= 4);
  sink.start();
  std::vector<delivery_attempt> later;
  REQUIRE(wait_until(
      [&] {
        auto some = n.run_once();
        later.insert(later.end(), some.begin(), some.end());
        return sink.messages().size() == 3;
      },
      5s));
  CHECK(w.fdb.count("SELECT count(*) FROM notification_deliveries WHERE state = 'delivered'") == 3);
  // Each delivery's attempts: failures first, then exactly one delivery, numbered 1, 2, ….
  CHECK(w.fdb.count("SELECT count(*) FROM notification_delivery_attempts WHERE outcome = "
                    "'delivered'") == 3);
  CHECK(w.fdb.count("SELECT count(*) FROM notification_delivery_attempts a WHERE attempt > 1 AND "
                    "NOT EXISTS (SELECT 1 FROM notification_delivery_attempts b WHERE "
                    "b.notification_id = a.notification_id AND b.channel = a.channel AND "
                    "b.attempt = a.attempt - 1)") == 0);
  CHECK(w.fdb.count("SELECT count(*) FROM notification_delivery_attempts a JOIN "
                    "notification_deliveries d ON d.notification_id = a.notification_id AND "
                    "d.channel = a.channel WHERE a.outcome = 'delivered' AND a.attempt <> "
                    "d.attempts") == 0);
}

TEST_CASE("notifier: a failing webhook is given up after max_attempts and shown to admins") {
  world w;
  webhook_receiver hook(secret);
  hook.answer_with(503);
  auto o = options_for(nullptr, &hook);
  o.max_attempts = 2;
  o.backoff = 0ms;
  notifier n(w.fdb.db(), o);
  w.submitted();
  const auto attempts = drain(n);
  REQUIRE(attempts.size() == 6);
  int given_up = 0;
  for (const auto& a : attempts) {
    CHECK(a.error.find("HTTP 503") != std::string::npos);
    if (a.outcome == attempt_outcome::given_up) {
      ++given_up;
      CHECK(a.attempt == 2);
    }
  }
  CHECK(given_up == 3);
  CHECK(hook.count() == 6);
  CHECK(n.run_once().empty());

  const auto page = n.deliveries(w.admin, {});
  CHECK(page.total == 3);
  REQUIRE(page.items.size() == 3);
  CHECK(page.items[0].state == delivery_state::given_up);
  CHECK(page.items[0].attempts == 2);
  CHECK(page.items[0].last_error.find("HTTP 503") != std::string::npos);
  CHECK(page.items[0].title == "New request to review: Regression tables");
  CHECK(page.counts.at("webhook").at("given_up") == 3);
  CHECK(page.counts.at("email").at("delivered") == 0);
  CHECK(n.deliveries(w.admin, {.states = {delivery_state::delivered}}).total == 0);
  actor auditor{w.make_user("audrey").id};
  auditor.auditor = true;
  CHECK(n.deliveries(auditor, {.channel = notify_channel::webhook}).total == 3);
  CHECK(test::thrown_by([&] { (void)n.deliveries(w.c1, {}); }).code() == errc::forbidden);
  CHECK(test::thrown_by([&] { (void)n.deliveries(w.admin, {.limit = 0}); }).code() ==
        errc::invalid_argument);
}

TEST_CASE("notifier: notifications older than max_age get no delivery") {
  world w;
  webhook_receiver hook(secret);
  w.fdb.exec(
      fmt::format("INSERT INTO notifications (id, user_id, event_type, title, created_at) VALUES "
                  "('{}', '{}', 'request.submitted', 'old', '2000-01-01T00:00:00.000000Z')",
                  uuid::v7().str(), w.c1.user_id.str()));
  notifier n(w.fdb.db(), options_for(nullptr, &hook));
  CHECK(n.run_once().empty());
  CHECK(w.fdb.count("SELECT count(*) FROM notification_deliveries") == 0);
}

TEST_CASE("notifier: options are checked") {
  fresh_database f;
  const auto refused = [&](notifier_options o, const std::string& says) {
    const auto e = test::thrown_by([&] { notifier n(f.db(), o); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, e.what());
  };
  notifier_options o;
  o.email = smtp_options{"http://mail:25", "trevor@example.org"};
  refused(o, "email url");
  o.email = smtp_options{"smtp://mail:587", "Trevor <trevor@example.org>"};
  refused(o, "email from");
  o.email.reset();
  o.webhook = webhook_options{"ftp://x", secret};
  refused(o, "webhook url");
  o.webhook = webhook_options{"https://x", "short"};
  refused(o, "webhook secret");
  o.webhook.reset();
  o.max_attempts = 0;
  refused(o, "max_attempts");
  notifier none(f.db(), {});
  CHECK_FALSE(none.enabled());
  CHECK(none.run_once().empty());
}

TEST_CASE("notifier: two notifiers on one database deliver each of 200 notifications once") {
  // Real concurrency: a pool of several connections (a SQLite file).
  fresh_database f(true, 6, /*sqlite_file=*/true);
  smtp_sink sink;
  webhook_receiver hook(secret);
  const auto user = uuid::v7().str();
  f.exec(fmt::format(
      "INSERT INTO users (id, username, email) VALUES ('{}', 'chen', 'chen@example.org')", user));
  for (int batch = 0; batch < 10; ++batch) {
    std::string values;
    for (int i = 0; i < 20; ++i)
      values += fmt::format("{}('{}', '{}', 'request.submitted', 'Note {}')",
                            values.empty() ? "" : ", ", uuid::v7().str(), user, batch * 20 + i);
    f.exec("INSERT INTO notifications (id, user_id, event_type, title) VALUES " + values);
  }
  auto a_opts = options_for(&sink, &hook);
  a_opts.name = "notifier-a";
  auto b_opts = a_opts;
  b_opts.name = "notifier-b";
  notifier a(f.db(), a_opts), b(f.db(), b_opts);
  std::atomic<int> by_a{0}, by_b{0};
  const auto work = [](notifier& n, std::atomic<int>& made) {
    for (int idle = 0; idle < 3;) {
      const auto some = n.run_once(8);
      made += static_cast<int>(some.size());
      idle = some.empty() ? idle + 1 : 0;
    }
  };
  std::thread ta([&] { work(a, by_a); }), tb([&] { work(b, by_b); });
  ta.join();
  tb.join();
  MESSAGE("attempts by a: " << by_a.load() << ", by b: " << by_b.load());
  CHECK(by_a + by_b == 400);
  // Exactly one successful delivery per notification and channel.
  CHECK(f.count("SELECT count(*) FROM notification_delivery_attempts WHERE outcome = "
                "'delivered'") == 400);
  CHECK(f.count("SELECT count(*) FROM (SELECT notification_id, channel FROM "
                "notification_delivery_attempts WHERE outcome = 'delivered' "
                "GROUP BY notification_id, channel HAVING count(*) <> 1) x") == 0);
  CHECK(f.count("SELECT count(*) FROM notification_deliveries WHERE state = 'delivered'") == 400);
  CHECK(sink.messages().size() == 200);
  const auto hooks = hook.hooks();
  CHECK(hooks.size() == 200);
  std::set<std::string> keys;
  for (const auto& h : hooks) keys.insert(h.idempotency_key);
  CHECK(keys.size() == 200);
  CHECK(f.count("SELECT count(*) FROM notification_delivery_attempts WHERE dispatcher IN "
                "('notifier-a', 'notifier-b')") == 400);
}
