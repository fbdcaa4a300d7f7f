// Notification delivery through trevord, on the engine under test: a
// submitted request reaches its checkers by e-mail (a real SMTP server,
// python3-aiosmtpd) and by signed webhook within moments of the commit; the
// SMTP server down loses nothing; given-up deliveries in
// /admin/notification-deliveries and /metrics; two daemons on one database
// deliver each of 200 notifications once; the configuration's refusals.
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "harness.hpp"
#include "notify_support.hpp"

namespace trevord::test {

namespace json = boost::json;
using namespace std::chrono_literals;
using trevor::test::smtp_sink;
using trevor::test::wait_until;
using trevor::test::webhook_receiver;
using world = project_world;

namespace {

const std::string secret = "another-webhook-secret-32-bytes-or-more";

/// The daemon's notifier on `sink` and `hook` (either may be null), with
/// back-offs of a fraction of a second.
std::function<void(config&)> notifying(const smtp_sink* sink, const webhook_receiver* hook) {
  return [sink, hook](config& c) {
    if (sink) {
      c.smtp_url = sink->url();
      c.smtp_from = "airlock@tre.example.org";
      c.smtp_tls = trevor::smtp_tls::off;
    }
    if (hook) {
      c.webhook_url = hook->url();
      c.webhook_secret = secret;
    }
    c.public_url = "https://tre.example.org/airlock";
    c.notify_poll = 100ms;
    c.notify_backoff = 100ms;
    c.notify_max_backoff = 400ms;
    c.notify_timeout = 5s;
  };
}

/// Addresses for the project's people (the development sign-in has none).
void give_addresses(daemon& d) {
  d.database().exec("UPDATE users SET email = username || '@tre.example.org'");
}

/// The value of one sample of /metrics ("name{labels}"), -1 when absent.
long long sample(daemon& d, const std::string& series) {
  const auto text = d.get("/metrics", "").body;
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("notifications over HTTP: e-mail and webhook within moments of the commit") {
  smtp_sink sink;
  webhook_receiver hook(secret);
  daemon d(notifying(&sink, &hook));
  world w(d);
  give_addresses(d);
  const auto id = w.draft("Table 2");
  w.upload(id, "age,count\n30-39,12\n");
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  REQUIRE(wait_until([&] { return sink.messages().size() == 3 && hook.count() == 3; }, 5s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  MESSAGE("submit to 3 e-mails and 3 webhooks: " << took.count() << " ms");
  CHECK(took < 3s);

  std::set<std::string> to;
  for (const auto& m : sink.messages()) {
    REQUIRE(m.recipients.size() == 1);
    to.insert(m.recipients[0]);
    CHECK(m.headers.at("subject") == "[trevor] New request to review: Table 2");
    CHECK(m.body.find("Link: https://tre.example.org/airlock/requests/" + id + "\n") !=
          std::string::npos);
    CHECK(m.body.find("30-39") == std::string::npos);  // never the file's contents
  }
  CHECK(to ==
        std::set<std::string>{"c1@tre.example.org", "c2@tre.example.org", "s1@tre.example.org"});
  for (const auto& h : hook.hooks()) {
    CHECK(h.signature_valid);
    CHECK(json::parse(h.body).at("request").at("id").as_string() == id);
  }
  // The counters move once the attempts are recorded, just after the sends.
  CHECK(wait_until([&] {
    return sample(d, "trevord_notifications_delivered_total{channel=\"email\"}") == 3 &&
           sample(d, "trevord_notifications_delivered_total{channel=\"webhook\"}") == 3;
  }));
  CHECK(sample(d, "trevor_notification_deliveries{channel=\"email\",state=\"delivered\"}") == 3);
  CHECK(sample(d, "trevord_notifications_skipped_total{channel=\"email\",reason=\"no_address\"}") ==
        0);
}

TEST_CASE("notifications over HTTP: the SMTP server down loses nothing; attempts are recorded") {
  smtp_sink sink;
  sink.stop();
  daemon d(notifying(&sink, nullptr));
  world w(d);
  give_addresses(d);
  // s1 has no address: skipped and counted, never retried.
  d.database().exec("UPDATE users SET email = '' WHERE username = 's1'");
  const auto id = w.submitted();
  REQUIRE(wait_until(
      [&] {
        return d.database().count(
                   "SELECT count(*) FROM notification_delivery_attempts "
                   "WHERE outcome = 'failed'") >= 4;
      },
      5s));
  auto pending = d.get("/admin/notification-deliveries?state=pending", world::admin);
  REQUIRE(pending.status == 200);
  const auto listed = pending.json();
  CHECK(listed.at("total").as_int64() == 2);
  const auto& item = listed.at("items").at(0);
  CHECK(str(item, "channel") == "email");
  CHECK(str(item, "request_id") == id);
  CHECK(str(item, "last_error").starts_with("SMTP"));
  CHECK(wait_until([&] {
    return sample(d, "trevord_notification_failed_attempts_total{channel=\"email\"}") >= 4 &&
           sample(d,
                  "trevord_notifications_skipped_total{channel=\"email\",reason=\"no_address\"}") ==
               1;
  }));

  sink.start();
  REQUIRE(wait_until([&] { return sink.messages().size() == 2; }, 5s));
  CHECK(wait_until([&] {
    return d.database().count(
               "SELECT count(*) FROM notification_deliveries WHERE state = 'delivered'") == 2;
  }));
  CHECK(d.database().count("SELECT count(*) FROM notification_delivery_attempts WHERE outcome = "
                           "'delivered'") == 2);
  CHECK(d.get("/admin/notification-deliveries", world::admin).json().at("total").as_int64() == 0);
}

TEST_CASE("/admin/notification-deliveries: given-up deliveries, counts, refusals") {
  webhook_receiver hook(secret);
  hook.answer_with(500);
  daemon d([&](config& c) {
    notifying(nullptr, &hook)(c);
    c.notify_max_attempts = 2;
  });
  world w(d);
  w.submitted();
  REQUIRE(wait_until(
      [&] {
        return d.database().count(
                   "SELECT count(*) FROM notification_deliveries WHERE state = 'given_up'") == 3;
      },
      5s));
  const auto page =
      d.get("/admin/notification-deliveries?state=given_up&channel=webhook&limit=2", world::admin);
  REQUIRE(page.status == 200);
  const auto body = page.json();
  CHECK(body.at("total").as_int64() == 3);
  CHECK(body.at("items").as_array().size() == 2);
  CHECK(str(body.at("items").at(0), "state") == "given_up");
  CHECK(body.at("items").at(0).at("attempts").as_int64() == 2);
  CHECK(str(body.at("items").at(0), "last_error").find("HTTP 500") != std::string::npos);
  CHECK(body.at("counts").at("webhook").at("given_up").as_int64() == 3);
  CHECK(body.at("counts").at("email").at("pending").as_int64() == 0);
  CHECK(wait_until([&] {
    return sample(d, "trevord_notifications_given_up_total{channel=\"webhook\"}") == 3 &&
           sample(d, "trevord_notification_failed_attempts_total{channel=\"webhook\"}") == 6;
  }));
  CHECK(hook.count() == 6);

  CHECK(d.get("/admin/notification-deliveries", world::c1).status == 403);
  CHECK(d.get("/admin/notification-deliveries", "").status == 401);
  auto bad = d.get("/admin/notification-deliveries?state=lost", world::admin);
  CHECK(bad.status == 422);
  CHECK(bad.detail().find("state: 'lost' is not one of") != std::string::npos);
  bad = d.get("/admin/notification-deliveries?channel=sms", world::admin);
  CHECK(bad.status == 422);
  CHECK(bad.detail().find("channel") != std::string::npos);
  CHECK(d.get("/admin/notification-deliveries?limit=501", world::admin).status == 422);
}

TEST_CASE("notifications over HTTP: two daemons on one database deliver 200 notifications once") {
  smtp_sink sink;
  webhook_receiver hook(secret);
  daemon first(notifying(&sink, &hook));
  REQUIRE_FALSE(first.database().url().empty());  // a file or a server, never :memory:
  daemon second([&](config& c) {
    notifying(&sink, &hook)(c);
    c.database_url = first.database().url();
  });
  const auto user = trevor::uuid::v7().str();
  first.database().exec(fmt::format(
      "INSERT INTO users (id, username, email) VALUES ('{}', 'chen', 'chen@tre.example.org')",
      user));
  for (int batch = 0; batch < 10; ++batch) {
    std::string values;
    for (int i = 0; i < 20; ++i)
      values +=
          fmt::format("{}('{}', '{}', 'request.stuck', 'Waiting {}')", values.empty() ? "" : ", ",
                      trevor::uuid::v7().str(), user, batch * 20 + i);
    first.database().exec("INSERT INTO notifications (id, user_id, event_type, title) VALUES " +
                          values);
  }
  REQUIRE(wait_until([&] { return sink.messages().size() >= 200 && hook.count() >= 200; }, 20s));
  std::this_thread::sleep_for(300ms);  // a second copy would arrive now
  CHECK(sink.messages().size() == 200);
  CHECK(hook.count() == 200);
  CHECK(first.database().count("SELECT count(*) FROM (SELECT notification_id, channel FROM "
                               "notification_delivery_attempts WHERE outcome = 'delivered' "
                               "GROUP BY notification_id, channel HAVING count(*) = 1) x") == 400);
  CHECK(wait_until([&] {
    return sample(first, "trevord_notifications_delivered_total{channel=\"email\"}") +
               sample(first, "trevord_notifications_delivered_total{channel=\"webhook\"}") +
               sample(second, "trevord_notifications_delivered_total{channel=\"email\"}") +
               sample(second, "trevord_notifications_delivered_total{channel=\"webhook\"}") ==
           400;
  }));
  const auto by_first = sample(first, "trevord_notifications_delivered_total{channel=\"email\"}") +
                        sample(first, "trevord_notifications_delivered_total{channel=\"webhook\"}");
  const auto by_second =
      sample(second, "trevord_notifications_delivered_total{channel=\"email\"}") +
      sample(second, "trevord_notifications_delivered_total{channel=\"webhook\"}");
  MESSAGE("delivered by the first daemon: " << by_first << ", by the second: " << by_second);
}

TEST_CASE("configuration: e-mail and webhook settings are checked") {
  CHECK(
      config_refusal({{"TREVOR_SMTP_URL", "smtp://mail:587"}}).find("TREVOR_SMTP_FROM: not set") !=
      std::string::npos);
  CHECK(config_refusal({{"TREVOR_SMTP_URL", "http://mail"}, {"TREVOR_SMTP_FROM", "a@b.org"}})
            .find("TREVOR_SMTP_URL: 'http://mail' is not an smtp://") != std::string::npos);
  CHECK(config_refusal({{"TREVOR_SMTP_FROM", "Trevor <a@b.org>"}}).find("TREVOR_SMTP_FROM") !=
        std::string::npos);
  CHECK(config_refusal({{"TREVOR_SMTP_STARTTLS", "maybe"}})
            .find("TREVOR_SMTP_STARTTLS: 'maybe' is not required, opportunistic or off") !=
        std::string::npos);
  CHECK(config_refusal(
            {{"TREVOR_SMTP_USER", "u"}, {"TREVOR_SMTP_PASSWORD_FILE", "/nonexistent/password"}})
            .find("TREVOR_SMTP_PASSWORD_FILE: '/nonexistent/password' is not a readable file") !=
        std::string::npos);
  CHECK(config_refusal({{"TREVOR_WEBHOOK_URL", "https://hooks.example.org/x"}})
            .find("TREVOR_WEBHOOK_SECRET: not set") != std::string::npos);
  CHECK(config_refusal({{"TREVOR_WEBHOOK_URL", "https://hooks.example.org/x"},
                        {"TREVOR_WEBHOOK_SECRET", "short"}})
            .find("TREVOR_WEBHOOK_SECRET: '(hidden)' is not at least 32 bytes long") !=
        std::string::npos);
  CHECK(config_refusal(
            {{"TREVOR_NOTIFY_BACKOFF_SECONDS", "60"}, {"TREVOR_NOTIFY_MAX_BACKOFF_SECONDS", "30"}})
            .find("TREVOR_NOTIFY_MAX_BACKOFF_SECONDS") != std::string::npos);
  // A password in clear over smtp:// is refused outside development and test.
  trevor::test::temp_dir dir;
  const auto password = dir.path() + "/smtp-password";
  { std::ofstream(password) << "s3cret\n"; }
  const std::map<std::string, std::string> prod{{"TREVOR_ENV", "production"},
                                                {"DATABASE_URL", "postgresql://u@h/db"},
                                                {"TREVOR_SMTP_URL", "smtp://mail:587"},
                                                {"TREVOR_SMTP_FROM", "airlock@tre.example.org"},
                                                {"TREVOR_SMTP_USER", "airlock"},
                                                {"TREVOR_SMTP_PASSWORD_FILE", password},
                                                {"TREVOR_SMTP_STARTTLS", "opportunistic"}};
  CHECK(config_refusal(prod).find("TREVOR_SMTP_STARTTLS: 'opportunistic' is not required when") !=
        std::string::npos);
  auto ok = prod;
  ok["TREVOR_SMTP_STARTTLS"] = "required";
  CHECK(config_refusal(ok).empty());
  const auto c = config_from(ok);
  CHECK(c.smtp_password == "s3cret");
  CHECK(c.smtp_tls == trevor::smtp_tls::required);
  const auto defaults = config_from({});
  CHECK(defaults.smtp_url.empty());
  CHECK(defaults.webhook_url.empty());
  CHECK(defaults.notify_poll == 5s);
  CHECK(defaults.notify_max_attempts == 10);
  const auto set = config_from({{"TREVOR_NOTIFY_POLL_SECONDS", "2"},
                                {"TREVOR_NOTIFY_MAX_ATTEMPTS", "3"},
                                {"TREVOR_NOTIFY_BACKOFF_SECONDS", "5"},
                                {"TREVOR_WEBHOOK_URL", "https://hooks.example.org/x"},
                                {"TREVOR_WEBHOOK_SECRET", secret}});
  CHECK(set.notify_poll == 2s);
  CHECK(set.notify_max_attempts == 3);
  CHECK(set.notify_backoff == 5s);
  CHECK(set.webhook_secret == secret);
}

}  // namespace trevord::test
