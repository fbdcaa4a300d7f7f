#include "trevor/database_url.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw error(errc::invalid_argument, "DATABASE_URL: " + what);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, std::string_view part) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) fail(fmt::format("invalid percent-escape in the {}", part));
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (out.find('\0') != std::string::npos) fail(fmt::format("NUL byte in the {}", part));
  return out;
}

// libpq keyword=value quoting: single quotes, with \ and ' escaped.
std::string quote_libpq(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

bool is_keyword(std::string_view k) {
  return !k.empty() &&
         std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

database_url parse_sqlite(std::string_view rest, std::string_view original) {
  // rest is what follows "scheme://": an empty authority then the path.
  if (rest.empty() || rest.front() != '/')
    fail(
        "a SQLite URL has no host: use sqlite:///relative/path.db, "
        "sqlite:////absolute/path.db or sqlite:///:memory:");
  rest.remove_prefix(1);
  if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos)
    fail("a SQLite URL takes no query parameters");
  database_url u;
  u.kind = engine::sqlite;
  u.sqlite_path = percent_decode(rest, "path");
  if (u.sqlite_path.empty()) fail("the SQLite URL names no file");
  if (u.sqlite_path.find_first_of("\"\n\r") != std::string::npos)
    fail("the SQLite path contains a quote or line break");
  u.connect_string = fmt::format("db=\"{}\"", u.sqlite_path);
  u.redacted = std::string(original);
  return u;
}

database_url parse_postgresql(std::string_view rest, std::string_view scheme) {
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.find('#') != std::string_view::npos) fail("fragments (#) are not allowed");
  const std::string_view without_query = rest;
  std::string_view authority = rest;
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  std::vector<std::pair<std::string, std::string>> kv;
  std::string redacted_userinfo;
  // The password may itself contain '@' when not escaped: split at the last one.
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userinfo;
    std::optional<std::string_view> password;
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    }
    if (!user.empty()) kv.emplace_back("user", percent_decode(user, "user name"));
    if (password) kv.emplace_back("password", percent_decode(*password, "password"));
    redacted_userinfo = std::string(user) + (password ? ":***" : "") + "@";
  }
  std::string host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) fail("unclosed '[' in an IPv6 host");
    host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail("unexpected text after the IPv6 host");
      port = after.substr(1);
    }
  } else {
    std::string_view h = authority;
    if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
      h = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    host = percent_decode(h, "host");
  }
  if (!host.empty()) kv.emplace_back("host", host);
  if (!port.empty()) {
    unsigned long value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535)
        fail(fmt::format("port '{}' is not a number from 1 to 65535", port));
      value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value < 1 || value > 65535)
      fail(fmt::format("port '{}' is not a number from 1 to 65535", port));
    kv.emplace_back("port", std::string(port));
  }
  if (path.find('/') != std::string_view::npos) fail("the database name contains '/'");
  if (!path.empty()) kv.emplace_back("dbname", percent_decode(path, "database name"));

  bool has_timeout = false;
  while (!query.empty()) {
    std::string_view item = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), item.size() + 1));
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) fail(fmt::format("query parameter '{}' has no value", item));
    std::string key = percent_decode(item.substr(0, eq), "query");
    if (!is_keyword(key)) fail(fmt::format("'{}' is not a connection parameter name", key));
    if (key == "user" || key == "password" || key == "host" || key == "port" || key == "dbname")
      fail(fmt::format("'{}' belongs in the URL itself, not in its query", key));
    if (key == "connect_timeout") has_timeout = true;
    kv.emplace_back(std::move(key), percent_decode(item.substr(eq + 1), "query"));
  }
  if (!has_timeout) kv.emplace_back("connect_timeout", "5");

  database_url u;
  u.kind = engine::postgresql;
  for (const auto& [k, v] : kv) {
    if (!u.connect_string.empty()) u.connect_string.push_back(' ');
    u.connect_string += k + "=" + quote_libpq(v);
  }
  // The query is left out: it may hold other secrets (sslpassword).
  const auto at = without_query.rfind('@');
  u.redacted =
      fmt::format("{}://{}{}", scheme, redacted_userinfo,
                  at == std::string_view::npos ? without_query : without_query.substr(at + 1));
  return u;
}

}  // namespace

std::string_view to_string(engine e) noexcept {
  return e == engine::sqlite ? "sqlite" : "postgresql";
}

database_url parse_database_url(std::string_view url) {
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front())))
    url.remove_prefix(1);
  if (url.empty()) fail("empty");
  const auto sep = url.find("://");
  if (sep == std::string_view::npos)
    fail("not a URL (expected sqlite:///path.db or postgresql://user:pass@host:port/db)");
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string_view rest = url.substr(sep + 3);
  if (scheme == "sqlite" || scheme == "sqlite+aiosqlite") return parse_sqlite(rest, url);
  if (scheme == "postgresql" || scheme == "postgres" || scheme == "postgresql+asyncpg")
    return parse_postgresql(rest, scheme);
  fail(
      fmt::format("unknown scheme '{}' (expected sqlite, postgresql, postgres, "
                  "sqlite+aiosqlite or postgresql+asyncpg)",
                  scheme));
}

}  // namespace trevor
