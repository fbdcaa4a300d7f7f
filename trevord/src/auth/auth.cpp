#include "auth/auth.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "auth/http_get.hpp"
#include "daemon/log.hpp"
#include "http/http_error.hpp"

namespace trevord {

namespace {

// Re-reading the JWKS file: at most once a second (a stat per second).
constexpr auto file_check_interval = std::chrono::seconds(1);
// Downloading the JWKS again (a token names an unknown kid, or the last
// download failed): at most once every 30 s, so forged kids cannot make the
// daemon hammer the identity provider.
constexpr auto url_refetch_interval = std::chrono::seconds(30);
constexpr auto url_timeout = std::chrono::seconds(5);
// The claims→user-id cache is cleared when it grows past this many identities.
constexpr std::size_t max_cached_identities = 10'000;
// Dev-bypass user names: what a username claim may reasonably hold.
constexpr std::size_t max_dev_username = 64;

[[noreturn]] void unauthorized(const std::string& why) {
  throw http_error(http::status::unauthorized, why);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string claim(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<std::string> realm_roles_of(const boost::json::object& claims) {
  std::vector<std::string> roles;
  const auto* access = claims.if_contains("realm_access");
  if (!access || !access->is_object()) return roles;
  const auto* list = access->as_object().if_contains("roles");
  if (!list || !list->is_array()) return roles;
  for (const auto& r : list->as_array())
    if (r.is_string()) roles.emplace_back(r.get_string());
  return roles;
}

bool has_role(const std::vector<std::string>& roles, std::string_view role) {
  for (const auto& r : roles)
    if (r == role) return true;
  return false;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(sep, start);
    out.emplace_back(text.substr(start, at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

}  // namespace

authenticator::authenticator(const config& cfg, trevor::directory& users)
    : cfg_(cfg), users_(users) {
  rules_.issuer = cfg.oidc_issuer;
  rules_.audience = cfg.oidc_audience;
  if (!cfg.jwks_file.empty()) {
    try {
      keys_ = key_set::parse(read_file(cfg.jwks_file));
      file_mtime_ = std::filesystem::last_write_time(cfg.jwks_file);
    } catch (const std::exception& e) {
      throw trevor::error(trevor::errc::invalid_argument,
                          fmt::format("TREVOR_JWKS_FILE: {}", e.what()));
    }
    log(level::info, "jwks loaded", {{"file", cfg.jwks_file}, {"keys", keys_->size()}});
  } else if (!cfg.jwks_url.empty()) {
    next_url_fetch_ = std::chrono::steady_clock::now() + url_refetch_interval;
    fetch_url();
  }
}

void authenticator::reload_file_if_changed() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_file_check_) return;
  next_file_check_ = now + file_check_interval;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(cfg_.jwks_file, ec);
  if (ec || mtime == file_mtime_) return;
  try {
    keys_ = key_set::parse(read_file(cfg_.jwks_file));
    file_mtime_ = mtime;
    log(level::info, "jwks reloaded", {{"file", cfg_.jwks_file}, {"keys", keys_->size()}});
  } catch (const std::exception& e) {
    // Keep serving with the keys we have; a half-written file is retried.
    log(level::warning, "jwks reload failed", {{"file", cfg_.jwks_file}, {"error", e.what()}});
  }
}

void authenticator::fetch_url() {
  try {
    auto set = key_set::parse(http_get(cfg_.jwks_url, url_timeout));
    const auto count = set->size();
    {
      std::lock_guard lock(keys_mutex_);
      keys_ = std::move(set);
    }
    log(level::info, "jwks downloaded", {{"url", cfg_.jwks_url}, {"keys", count}});
  } catch (const std::exception& e) {
    log(level::warning, "jwks download failed", {{"url", cfg_.jwks_url}, {"error", e.what()}});
  }
}

std::shared_ptr<const key_set> authenticator::keys_for(std::string_view token) {
  {
    std::lock_guard lock(keys_mutex_);
    if (!cfg_.jwks_file.empty()) {
      reload_file_if_changed();
      return keys_;
    }
    // No keys yet, or the provider may have rotated its keys.
    bool wanted = !keys_;
    if (!wanted) {
      const auto kid = token_kid(token);
      wanted = !kid.empty() && !keys_->has_kid(kid);
    }
    const auto now = std::chrono::steady_clock::now();
    if (!wanted || now < next_url_fetch_) return keys_;
    next_url_fetch_ = now + url_refetch_interval;  // this thread downloads; others go on
  }
  fetch_url();  // outside the lock: a slow provider holds up only this request
  std::lock_guard lock(keys_mutex_);
  return keys_;
}

principal authenticator::authenticate(std::string_view authorization) {
  if (authorization.empty()) unauthorized("an Authorization: Bearer header is required");
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    unauthorized("the Authorization header must be 'Bearer <token>'");
  const std::string_view token = authorization.substr(scheme.size());

  if (cfg_.dev_auth_bypass) return dev_principal(token);
  if (!cfg_.jwt_configured())
    unauthorized("this server has no token keys configured (TREVOR_JWKS_FILE or TREVOR_JWKS_URL)");
  const auto keys = keys_for(token);
  if (!keys) unauthorized("the identity provider's keys are not available yet");
  boost::json::object claims;
  try {
    claims = verify_token(token, *keys, rules_, std::chrono::system_clock::now());
  } catch (const token_error& e) {
    unauthorized(e.what());
  }
  trevor::identity_claims id;
  id.subject = claim(claims, "sub");
  id.username = claim(claims, "preferred_username");
  if (id.username.empty()) id.username = id.subject;
  id.email = claim(claims, "email");
  id.given_name = claim(claims, "given_name");
  id.family_name = claim(claims, "family_name");
  id.affiliation = claim(claims, "affiliation");
  return from_claims(id, realm_roles_of(claims));
}

principal authenticator::dev_principal(std::string_view token) {
  trevor::identity_claims id;
  std::vector<std::string> roles;
  if (token.rfind("dev:", 0) == 0) {
    const auto parts = split(token.substr(4), ':');
    if (parts.size() > 2) unauthorized("a development token is dev:<username>[:<role>,...]");
    id.username = parts[0];
    if (id.username.empty() || id.username.size() > max_dev_username ||
        id.username.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789._-") != std::string::npos)
      unauthorized(fmt::format("a development username is 1 to {} letters, digits, '.', '_' or '-'",
                               max_dev_username));
    if (parts.size() == 2)
      for (auto& r : split(parts[1], ','))
        if (!r.empty()) roles.push_back(std::move(r));
  } else if (token.find("admin") != std::string_view::npos) {
    id.username = "dev-bypass-admin";
    roles.emplace_back(admin_role);
  } else {
    id.username = "dev-bypass-user";
  }
  id.subject = "dev:" + id.username;
  return from_claims(id, std::move(roles));
}

principal authenticator::from_claims(const trevor::identity_claims& claims,
                                     std::vector<std::string> roles) {
  principal p;
  p.subject = claims.subject;
  p.realm_roles = std::move(roles);
  if (has_role(p.realm_roles, agent_role)) {
    // A service account, not a person: no user row, and no other role counts.
    try {
      p.actor = trevor::actor::of_agent(trevor::agent_credential(claims.username));
    } catch (const trevor::error& e) {
      unauthorized(fmt::format("the agent's preferred_username (or sub): {}", e.what()));
    }
    return p;
  }
  // An auditor is read-only whatever else the person holds: tre_admin alongside
  // it counts for nothing (the library ignores it too).
  p.actor.auditor = has_role(p.realm_roles, auditor_role);
  p.actor.tre_admin = has_role(p.realm_roles, admin_role) && !p.actor.auditor;

  std::string fingerprint;
  for (const auto* part : {&claims.subject, &claims.username, &claims.email, &claims.given_name,
                           &claims.family_name, &claims.affiliation}) {
    fingerprint += *part;
    fingerprint.push_back('\0');
  }
  {
    std::lock_guard lock(users_mutex_);
    if (auto it = user_ids_.find(fingerprint); it != user_ids_.end()) {
      p.actor.user_id = it->second;
      return p;
    }
  }
  const auto user = users_.upsert_user(claims);  // throws conflict for a taken username
  p.actor.user_id = user.id;
  std::lock_guard lock(users_mutex_);
  if (user_ids_.size() >= max_cached_identities) user_ids_.clear();
  user_ids_.emplace(std::move(fingerprint), user.id);
  return p;
}

}  // namespace trevord
