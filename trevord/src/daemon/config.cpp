#include "daemon/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "trevor/audit_proof.hpp"
#include "trevor/error.hpp"
#include "trevor/signed_link.hpp"

namespace trevord {
namespace {

/// Every missing or invalid setting of one start, so that an operator sees
/// them all at once (one line each) instead of one per attempt.
class problems {
 public:
  void bad(const char* name, const std::string& value, std::string_view expected) {
    lines_.push_back(fmt::format("{}: '{}' is not {}", name, value, expected));
  }
  void missing(const char* name, std::string_view why) {
    lines_.push_back(fmt::format("{}: not set; {}", name, why));
  }
  /// Runs `check`, keeping the trevor::error it throws as a problem (a
  /// message of several lines counts as several problems).
  template <class F>
  void collect(F&& check) {
    try {
      check();
    } catch (const trevor::error& e) {
      std::string_view rest = e.what();
      while (!rest.empty()) {
        const auto nl = rest.find('\n');
        lines_.emplace_back(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      }
    }
  }
  /// Throws trevor::error(invalid_argument) listing every problem, one per line.
  void raise() const {
    if (lines_.empty()) return;
    std::string text;
    for (const auto& l : lines_) text += (text.empty() ? "" : "\n") + l;
    throw trevor::error(trevor::errc::invalid_argument, text);
  }

 private:
  std::vector<std::string> lines_;
};

/// A whole number in [lo, hi], or nullopt (and a problem).
std::optional<unsigned long> parse_number(problems& p, const char* name, const std::string& v,
                                          unsigned long lo, unsigned long hi) {
  const auto expected = fmt::format("a whole number from {} to {}", lo, hi);
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9) {
    p.bad(name, v, expected);
    return std::nullopt;
  }
  const unsigned long n = std::stoul(v);
  if (n < lo || n > hi) {
    p.bad(name, v, expected);
    return std::nullopt;
  }
  return n;
}

/// Sets `field` from the variable `name` when it is set and a whole number in [lo, hi].
void number_in(problems& p, const std::function<std::optional<std::string>(const char*)>& getenv,
               const char* name, long& field, unsigned long lo, unsigned long hi) {
  if (auto v = getenv(name))
    if (auto n = parse_number(p, name, *v, lo, hi)) field = static_cast<long>(*n);
}

std::optional<bool> parse_bool(problems& p, const char* name, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  p.bad(name, v, "true or false");
  return std::nullopt;
}

void serve_problems(const config& c, problems& p) {
  if (!c.jwt_configured() && !c.dev_auth_bypass && !trevor::is_dev_like(c.env))
    p.missing("TREVOR_JWKS_FILE",
              "set it or TREVOR_JWKS_URL (without the identity provider's keys nobody can sign "
              "in)");
  if (c.link_secret.empty() && !trevor::is_dev_like(c.env))
    p.missing("TREVOR_LINK_SECRET",
              fmt::format("set it to at least {} bytes, the same on every daemon (download and "
                          "upload links are signed with it)",
                          trevor::min_link_secret_bytes));
  if (c.audit_signing_key_file.empty() && !trevor::is_dev_like(c.env))
    p.missing("TREVOR_AUDIT_SIGNING_KEY",
              "set it to the file of the audit trail's signer key (`trevord audit keygen` "
              "writes one); without it no checkpoint is signed");
}

void read_audit_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                       config& c, problems& p);

config read_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                   problems& p);

void read_notify_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                        config& c, problems& p);

}  // namespace

void check_serve_config(const config& c) {
  problems p;
  serve_problems(c, p);
  p.raise();
}

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

config load_config(const std::function<std::optional<std::string>(const char*)>& getenv) {
  problems p;
  auto c = read_config(getenv, p);
  p.raise();
  return c;
}

config load_serve_config(const std::function<std::optional<std::string>(const char*)>& getenv) {
  problems p;
  auto c = read_config(getenv, p);
  serve_problems(c, p);
  p.raise();
  return c;
}

namespace {

/// The built-in agent's settings (TREVOR_SDC_POLICY, TREVOR_AGENT_*).
void read_agent_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                       config& c, problems& p) {
  if (auto v = getenv("TREVOR_SDC_POLICY")) {
    if (v->empty()) {
      p.bad("TREVOR_SDC_POLICY", *v, "a JSON or YAML policy file");
    } else {
      c.sdc_policy_file = *v;
      // The library's message names the file and the offending key.
      p.collect([&] {
        try {
          c.sdc_policy = trevor::sdc::policy_config::load(*v);
        } catch (const trevor::error& e) {
          std::string line = e.what();
          std::replace(line.begin(), line.end(), '\n', ' ');
          throw trevor::error(e.code(), "TREVOR_SDC_POLICY: " + line);
        }
      });
    }
  }
  if (auto v = getenv("TREVOR_AGENT_TIMEOUT_SECONDS"))
    if (auto n = parse_number(p, "TREVOR_AGENT_TIMEOUT_SECONDS", *v, 1, 7 * 86400))
      c.agent_timeout = std::chrono::seconds(static_cast<long>(*n));
  if (auto v = getenv("TREVOR_AGENT_MAX_ATTEMPTS"))
    if (auto n = parse_number(p, "TREVOR_AGENT_MAX_ATTEMPTS", *v, 1, 100))
      c.agent_max_attempts = static_cast<int>(*n);
}

config read_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                   problems& p) {
  config c;
  const auto env_value = getenv("TREVOR_ENV");
  p.collect([&] {
    c.env = trevor::parse_environment(env_value ? std::optional<std::string_view>(*env_value)
                                                : std::nullopt);
  });
  // Sets `field` from the variable `name` when it is set and valid.
  auto number = [&](const char* name, auto& field, unsigned long lo, unsigned long hi) {
    if (auto v = getenv(name))
      if (auto n = parse_number(p, name, *v, lo, hi))
        field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
  };
  auto flag = [&](const char* name, bool& field) {
    if (auto v = getenv(name))
      if (auto b = parse_bool(p, name, *v)) field = *b;
  };
  auto seconds = [&](const char* name, std::chrono::seconds& field, unsigned long lo,
                     unsigned long hi) {
    long n = static_cast<long>(field.count());
    number(name, n, lo, hi);
    field = std::chrono::seconds(n);
  };

  flag("TREVOR_DEV_AUTH_BYPASS", c.dev_auth_bypass);
  const auto url = getenv("DATABASE_URL");
  p.collect([&] {
    c.database_url = trevor::check_environment(
        c.env, url ? std::optional<std::string_view>(*url) : std::nullopt, c.dev_auth_bypass);
  });
  if (auto v = getenv("TREVOR_HOST")) {
    if (v->empty())
      p.bad("TREVOR_HOST", *v, "a host name or address");
    else
      c.host = *v;
  }
  number("TREVOR_PORT", c.port, 0, 65535);
  c.threads = std::max(1u, std::thread::hardware_concurrency());
  number("TREVOR_THREADS", c.threads, 1, 256);
  number("TREVOR_DB_POOL_SIZE", c.db_pool_size, 1, 1000);
  c.auto_migrate = trevor::is_dev_like(c.env);
  flag("TREVOR_AUTO_MIGRATE", c.auto_migrate);
  if (auto v = getenv("TREVOR_LOG_LEVEL")) {
    // Any case; "warn" is how most operators write "warning".
    std::string level = *v;
    std::transform(level.begin(), level.end(), level.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (level == "warn") level = "warning";
    if (level != "debug" && level != "info" && level != "warning" && level != "error")
      p.bad("TREVOR_LOG_LEVEL", *v, "one of debug, info, warning (or warn), error");
    else
      c.log_level = level;
  }
  seconds("TREVOR_DRAIN_SECONDS", c.drain_timeout, 0, 3600);

  if (auto v = getenv("TREVOR_OIDC_ISSUER")) c.oidc_issuer = *v;
  if (auto v = getenv("TREVOR_OIDC_AUDIENCE")) c.oidc_audience = *v;
  if (auto v = getenv("TREVOR_JWKS_FILE")) c.jwks_file = *v;
  if (auto v = getenv("TREVOR_JWKS_URL")) c.jwks_url = *v;
  if (!c.jwks_file.empty() && !c.jwks_url.empty())
    p.bad("TREVOR_JWKS_URL", c.jwks_url, "usable together with TREVOR_JWKS_FILE (set one)");
  if (!c.jwks_url.empty() && c.jwks_url.rfind("http://", 0) != 0 &&
      c.jwks_url.rfind("https://", 0) != 0)
    p.bad("TREVOR_JWKS_URL", c.jwks_url, "an http:// or https:// URL");
  if (c.jwt_configured()) {
    if (c.oidc_issuer.empty())
      p.missing("TREVOR_OIDC_ISSUER", "it is required with a JWKS (tokens' iss is checked)");
    if (c.oidc_audience.empty())
      p.missing("TREVOR_OIDC_AUDIENCE", "it is required with a JWKS (tokens' aud is checked)");
  }

  number("TREVOR_REQUIRED_REVIEWS", c.required_reviews, 2, 20);
  if (auto v = getenv("TREVOR_AGENT_REVIEW")) {
    if (*v == "off")
      c.agent_review = false;
    else if (*v == "external")
      c.agent_review = true;
    else if (*v == "builtin")
      c.agent_review = c.builtin_agent = true;
    else
      p.bad("TREVOR_AGENT_REVIEW", *v, "off, external or builtin");
  }
  number("TREVOR_STUCK_HOURS", c.stuck_hours, 0, 100000);
  flag("TREVOR_INDEPENDENT_REVIEW", c.independent_review);
  long upload_mb = static_cast<long>(c.max_upload_bytes / (1024 * 1024));
  number("TREVOR_MAX_UPLOAD_MB", upload_mb, 1, 1024 * 1024);
  c.max_upload_bytes = std::int64_t{upload_mb} * 1024 * 1024;
  if (auto v = getenv("TREVOR_STORAGE_DIR")) {
    if (v->empty())
      p.bad("TREVOR_STORAGE_DIR", *v, "a directory");
    else
      c.storage_dir = *v;
  }
  if (auto v = getenv("TREVOR_LINK_SECRET")) {
    if (v->size() < trevor::min_link_secret_bytes)
      p.bad("TREVOR_LINK_SECRET", "(hidden)",
            fmt::format("at least {} bytes long", trevor::min_link_secret_bytes));
    else
      c.link_secret = *v;
  }
  c.public_url = fmt::format("http://{}:{}", c.host, c.port);
  if (auto v = getenv("TREVOR_PUBLIC_URL")) {
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
      p.bad("TREVOR_PUBLIC_URL", *v, "an http:// or https:// URL");
    else
      c.public_url = *v;
  }
  if (auto v = getenv("TREVOR_RELEASE_LICENSE")) {
    const auto first = v->find_first_not_of(" \t\r\n");
    const auto last = v->find_last_not_of(" \t\r\n");
    c.release_license = first == std::string::npos ? "" : v->substr(first, last - first + 1);
  }
  // Link lifetimes, the warning before expiry, the release timeout, the sweep period.
  number("TREVOR_RELEASE_LINK_HOURS", c.release_link_hours, 1, 8760);
  number("TREVOR_DELIVERY_LINK_HOURS", c.delivery_link_hours, 1, 8760);
  number("TREVOR_UPLOAD_LINK_HOURS", c.upload_link_hours, 1, 8760);
  number("TREVOR_LINK_WARNING_HOURS", c.link_warning_hours, 0, 8760);
  number("TREVOR_RELEASE_TIMEOUT_MINUTES", c.release_timeout_minutes, 1, 10080);
  number("TREVOR_RELEASE_HEARTBEAT_SECONDS", c.release_heartbeat_seconds, 2, 86400);
  number("TREVOR_SWEEP_SECONDS", c.sweep_seconds, 0, 86400);
  if (auto v = getenv("TREVOR_LOG_FORMAT"); v && *v != "json")
    p.bad("TREVOR_LOG_FORMAT", *v, "json (the only format)");

  if (auto v = getenv("TREVOR_MAX_HEADER_KB"))
    if (auto n = parse_number(p, "TREVOR_MAX_HEADER_KB", *v, 1, 1024))
      c.max_header_bytes = static_cast<std::uint32_t>(*n * 1024);
  if (auto v = getenv("TREVOR_MAX_JSON_KB"))
    if (auto n = parse_number(p, "TREVOR_MAX_JSON_KB", *v, 1, 64 * 1024))
      c.max_json_body_bytes = *n * 1024;
  seconds("TREVOR_READ_TIMEOUT_SECONDS", c.read_timeout, 1, 3600);
  seconds("TREVOR_WRITE_TIMEOUT_SECONDS", c.write_timeout, 1, 3600);
  seconds("TREVOR_IDLE_TIMEOUT_SECONDS", c.idle_timeout, 1, 3600);
  number("TREVOR_MAX_IN_FLIGHT", c.max_in_flight, 1, 1000000);
  // Transfers (uploads and downloads) slower than this on average since
  // their start, once the grace period is over, are cut off: a trickling
  // client must not hold a transfer thread or a connection for hours.
  number("TREVOR_TRANSFER_MIN_BYTES_PER_SECOND", c.transfer_min_rate, 0, 1024ul * 1024 * 1024);
  seconds("TREVOR_TRANSFER_GRACE_SECONDS", c.transfer_grace, 1, 86400);
  number("TREVOR_MAX_UPLOADS_PER_USER", c.max_uploads_per_user, 1, 100000);
  number("TREVOR_MAX_CONNECTIONS", c.max_connections, 1, 1000000);
  read_audit_config(getenv, c, p);
  read_agent_config(getenv, c, p);
  read_notify_config(getenv, c, p);
  return c;
}

/// The verifiable audit trail's keys (trevord/README.md, "Audit trail").
void read_audit_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                       config& c, problems& p) {
  if (auto v = getenv("TREVOR_AUDIT_ORIGIN")) {
    const bool printable = !v->empty() && std::all_of(v->begin(), v->end(), [](char ch) {
      return static_cast<unsigned char>(ch) > ' ' && ch != 0x7f;
    });
    if (!printable)
      p.bad("TREVOR_AUDIT_ORIGIN", *v, "a log name (printable, without spaces)");
    else
      c.audit_origin = *v;
  }
  if (auto v = getenv("TREVOR_AUDIT_SIGNING_KEY"); v && !v->empty()) {
    c.audit_signing_key_file = *v;
    std::ifstream in(*v, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in) {
      p.bad("TREVOR_AUDIT_SIGNING_KEY", *v, "a readable file (the signer key)");
    } else {
      std::string key = text.str();
      while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' '))
        key.pop_back();
      try {
        (void)trevor::audit_verifier_key(key);
        c.audit_signer_key = std::move(key);
      } catch (const trevor::error&) {
        p.bad("TREVOR_AUDIT_SIGNING_KEY", *v,
              "a file holding a signer key (PRIVATE+KEY+<name>+<id>+<key>; `trevord audit "
              "keygen` writes one)");
      }
    }
  }
  number_in(p, getenv, "TREVOR_AUDIT_SEAL_SECONDS", c.audit_seal_seconds, 0, 3600);
  if (auto v = getenv("TREVOR_AUDIT_CHECKPOINT_FILE"); v && !v->empty())
    c.audit_checkpoint_file = *v;
}

/// A secret read from a file: its content without trailing line ends; a
/// problem naming `name` when it cannot be read.
std::optional<std::string> read_secret_file(problems& p, const char* name,
                                            const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in) {
    p.bad(name, path, "a readable file");
    return std::nullopt;
  }
  std::string v = text.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

/// E-mail and webhook delivery of notifications (trevord/README.md,
/// "Notification delivery").
void read_notify_config(const std::function<std::optional<std::string>(const char*)>& getenv,
                        config& c, problems& p) {
  const auto set = [&](const char* name) -> std::optional<std::string> {
    auto v = getenv(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  if (auto v = set("TREVOR_SMTP_URL")) {
    if (!v->starts_with("smtp://") && !v->starts_with("smtps://"))
      p.bad("TREVOR_SMTP_URL", *v, "an smtp:// or smtps:// URL (smtp://host:587)");
    else
      c.smtp_url = *v;
  }
  if (auto v = set("TREVOR_SMTP_FROM")) {
    if (!trevor::is_plain_email_address(*v))
      p.bad("TREVOR_SMTP_FROM", *v, "a plain e-mail address (trevor@example.org)");
    else
      c.smtp_from = *v;
  }
  if (!c.smtp_url.empty() && c.smtp_from.empty() && !set("TREVOR_SMTP_FROM"))
    p.missing("TREVOR_SMTP_FROM", "it is required with TREVOR_SMTP_URL (the sender of e-mail)");
  if (auto v = set("TREVOR_SMTP_USER")) c.smtp_user = *v;
  if (auto v = set("TREVOR_SMTP_PASSWORD_FILE")) {
    if (c.smtp_user.empty())
      p.missing("TREVOR_SMTP_USER", "it is required with TREVOR_SMTP_PASSWORD_FILE");
    if (auto secret = read_secret_file(p, "TREVOR_SMTP_PASSWORD_FILE", *v))
      c.smtp_password = *secret;
  }
  if (auto v = set("TREVOR_SMTP_STARTTLS")) {
    if (*v == "required")
      c.smtp_tls = trevor::smtp_tls::required;
    else if (*v == "opportunistic")
      c.smtp_tls = trevor::smtp_tls::opportunistic;
    else if (*v == "off")
      c.smtp_tls = trevor::smtp_tls::off;
    else
      p.bad("TREVOR_SMTP_STARTTLS", *v, "required, opportunistic or off");
  }
  // A password must not cross the network in clear outside development.
  if (!c.smtp_user.empty() && c.smtp_url.starts_with("smtp://") &&
      c.smtp_tls != trevor::smtp_tls::required && !trevor::is_dev_like(c.env))
    p.bad("TREVOR_SMTP_STARTTLS", getenv("TREVOR_SMTP_STARTTLS").value_or(""),
          "required when a password is sent to an smtp:// server (or use smtps://)");

  if (auto v = set("TREVOR_WEBHOOK_URL")) {
    if (!v->starts_with("http://") && !v->starts_with("https://"))
      p.bad("TREVOR_WEBHOOK_URL", *v, "an http:// or https:// URL");
    else
      c.webhook_url = *v;
  }
  const auto secret = set("TREVOR_WEBHOOK_SECRET");
  const auto secret_file = set("TREVOR_WEBHOOK_SECRET_FILE");
  if (secret && secret_file)
    p.bad("TREVOR_WEBHOOK_SECRET_FILE", *secret_file,
          "usable together with TREVOR_WEBHOOK_SECRET (set one)");
  else if (secret)
    c.webhook_secret = *secret;
  else if (secret_file)
    if (auto s = read_secret_file(p, "TREVOR_WEBHOOK_SECRET_FILE", *secret_file))
      c.webhook_secret = *s;
  if (!c.webhook_secret.empty() && c.webhook_secret.size() < 32)
    p.bad(secret ? "TREVOR_WEBHOOK_SECRET" : "TREVOR_WEBHOOK_SECRET_FILE", "(hidden)",
          "at least 32 bytes long");
  if (!c.webhook_url.empty() && c.webhook_secret.empty() && !secret && !secret_file)
    p.missing("TREVOR_WEBHOOK_SECRET",
              "it (or TREVOR_WEBHOOK_SECRET_FILE) is required with TREVOR_WEBHOOK_URL (the "
              "signature's key)");

  const auto seconds_ms = [&](const char* name, std::chrono::milliseconds& field, unsigned long lo,
                              unsigned long hi) {
    if (auto v = getenv(name))
      if (auto n = parse_number(p, name, *v, lo, hi))
        field = std::chrono::seconds(static_cast<long>(*n));
  };
  seconds_ms("TREVOR_NOTIFY_POLL_SECONDS", c.notify_poll, 1, 3600);
  if (auto v = getenv("TREVOR_NOTIFY_MAX_ATTEMPTS"))
    if (auto n = parse_number(p, "TREVOR_NOTIFY_MAX_ATTEMPTS", *v, 1, 1000))
      c.notify_max_attempts = static_cast<int>(*n);
  seconds_ms("TREVOR_NOTIFY_BACKOFF_SECONDS", c.notify_backoff, 1, 86400);
  seconds_ms("TREVOR_NOTIFY_MAX_BACKOFF_SECONDS", c.notify_max_backoff, 1, 7 * 86400);
  if (c.notify_max_backoff < c.notify_backoff)
    p.bad("TREVOR_NOTIFY_MAX_BACKOFF_SECONDS",
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(c.notify_max_backoff).count()),
          "at least TREVOR_NOTIFY_BACKOFF_SECONDS");
  seconds_ms("TREVOR_NOTIFY_TIMEOUT_SECONDS", c.notify_timeout, 1, 600);
  number_in(p, getenv, "TREVOR_NOTIFY_MAX_AGE_HOURS", c.notify_max_age_hours, 1, 8760);
}

}  // namespace
}  // namespace trevord
