// Signed, expiring link tokens: genuine tokens pass; altered, forged,
// expired and misdirected ones are refused with the reason.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support.hpp"
#include "trevor/signed_link.hpp"

namespace trevor {
namespace {

using test::thrown_by;

const std::string secret(40, 'k');
const uuid crate = *uuid::parse("0190f3a4-0000-7000-8000-000000000001");
const uuid other = *uuid::parse("0190f3a4-0000-7000-8000-000000000002");
const timestamp t0(std::int64_t{1767225600} * 1000000);
const timestamp week(t0.micros() + std::int64_t{7} * 24 * 3600 * 1000000);

std::string refusal(const link_signer& s, const std::string& token, link_purpose p, const uuid& id,
                    timestamp now) {
  const auto e = thrown_by([&] { s.verify(token, p, id, now); });
  CHECK(e.code() == errc::forbidden);
  return e.what();
}

TEST_CASE("link tokens: a genuine token verifies until its expiry and names its claims") {
  const link_signer s(secret);
  const link_claims claims{link_purpose::release_download, crate, week};
  const auto token = s.issue(claims);
  // URL-safe as it is: lower-case letters, digits, '.', '_' and '-'.
  for (char ch : token)
    CHECK(((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
           ch == '-'));
  CHECK(s.verify(token, link_purpose::release_download, crate, t0) == claims);
  CHECK(s.verify(token, link_purpose::release_download, crate, timestamp(week.micros() - 1)) ==
        claims);
  CHECK(refusal(s, token, link_purpose::release_download, crate, week).find("expired") !=
        std::string::npos);
  // Unguessable: the same claims twice give different tokens, both valid.
  const auto again = s.issue(claims);
  CHECK(again != token);
  CHECK(s.verify(again, link_purpose::release_download, crate, t0) == claims);
}

TEST_CASE("link tokens: another resource, another purpose, another secret are refused") {
  const link_signer s(secret);
  const auto token = s.issue({link_purpose::object_download, crate, week});
  CHECK(refusal(s, token, link_purpose::object_download, other, t0).find("another resource") !=
        std::string::npos);
  CHECK(refusal(s, token, link_purpose::slot_upload, crate, t0).find("object_download") !=
        std::string::npos);
  const link_signer stranger(std::string(40, 'x'));
  CHECK(refusal(stranger, token, link_purpose::object_download, crate, t0).find("bad signature") !=
        std::string::npos);
}

TEST_CASE("link tokens: any altered character breaks the signature; garbage is malformed") {
  const link_signer s(secret);
  const auto token = s.issue({link_purpose::slot_upload, crate, week});
  // Flip every character in turn (to another URL-safe character).
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string t = token;
    t[i] = t[i] == 'a' ? 'b' : 'a';
    CAPTURE(i);
    CHECK(thrown_by([&] { s.verify(t, link_purpose::slot_upload, crate, t0); }).code() ==
          errc::forbidden);
  }
  // A later expiry written in by hand: the MAC no longer matches.
  const auto first = token.find('.', token.find('.', token.find('.') + 1) + 1);
  const auto second = token.find('.', first + 1);
  std::string extended = token;
  extended.replace(first + 1, second - first - 1, std::to_string(week.micros() * 2));
  CHECK(refusal(s, extended, link_purpose::slot_upload, crate, t0).find("bad signature") !=
        std::string::npos);
  for (const std::string& bad :
       std::vector<std::string>{"", "v1", "v1.slot_upload", token + ".x", "v2" + token.substr(2),
                                std::string(600, 'a'), token.substr(0, token.size() - 1)}) {
    CAPTURE(bad);
    CHECK(refusal(s, bad, link_purpose::slot_upload, crate, t0).find("link token refused") !=
          std::string::npos);
  }
}

TEST_CASE("link tokens: a short secret is refused") {
  CHECK(thrown_by([] { link_signer s(std::string(31, 'k')); }).code() == errc::invalid_argument);
}

}  // namespace
}  // namespace trevor
