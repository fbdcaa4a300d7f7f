// JWT bearer tokens: RS256 and ES256 against a JWKS file, every claim check,
// the algorithm attacks, key rotation. Tokens are minted with cpp-jwt, an
// implementation independent of trevord's verifier.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <atomic>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <jwt/jwt.hpp>

#include "auth/jwt.hpp"
#include "harness.hpp"

namespace trevord::test {

namespace bjson = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* issuer = "https://keycloak.tre.example/realms/tre";
constexpr const char* audience = "trevor";

struct test_key {
  std::string kid;
  std::string alg;
  std::string private_pem;
  std::string public_pem;
  bjson::object jwk;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string bn_bytes(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(k, name, &bn) == 1);
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

test_key make_key(const std::string& kid, const std::string& alg) {
  EVP_PKEY* k = alg == "RS256" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(k != nullptr);
  test_key t;
  t.kid = kid;
  t.alg = alg;
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, k, nullptr, nullptr, 0, nullptr, nullptr);
  t.private_pem = bio_text(priv);
  BIO_free(priv);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, k);
  t.public_pem = bio_text(pub);
  BIO_free(pub);
  t.jwk = {{"kid", kid}, {"use", "sig"}, {"alg", alg}};
  if (alg == "RS256") {
    t.jwk["kty"] = "RSA";
    t.jwk["n"] = base64url_encode(bn_bytes(k, OSSL_PKEY_PARAM_RSA_N));
    t.jwk["e"] = base64url_encode(bn_bytes(k, OSSL_PKEY_PARAM_RSA_E));
  } else {
    unsigned char point[65];
    std::size_t len = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                            &len) == 1);
    REQUIRE(len == 65);
    t.jwk["kty"] = "EC";
    t.jwk["crv"] = "P-256";
    t.jwk["x"] = base64url_encode(std::string(reinterpret_cast<char*>(point) + 1, 32));
    t.jwk["y"] = base64url_encode(std::string(reinterpret_cast<char*>(point) + 33, 32));
  }
  EVP_PKEY_free(k);
  return t;
}

std::string jwks_of(const std::vector<const test_key*>& keys) {
  bjson::array list;
  for (const auto* k : keys) list.push_back(k->jwk);
  return bjson::serialize(bjson::object{{"keys", list}});
}

struct claims_spec {
  std::string sub = "kc-user-1";
  std::string username = "jwt-alice";
  std::string iss = issuer;
  nlohmann::json aud = audience;
  std::optional<std::chrono::system_clock::time_point> exp =
      std::chrono::system_clock::now() + 5min;
  std::optional<std::chrono::system_clock::time_point> nbf;
  std::vector<std::string> roles;
};

std::string mint(const test_key& k, const claims_spec& c, std::optional<std::string> kid = {}) {
  jwt::jwt_object obj{jwt::params::algorithm(k.alg), jwt::params::secret(k.private_pem)};
  obj.header().add_header("kid", kid.value_or(k.kid));
  obj.add_claim("sub", c.sub)
      .add_claim("preferred_username", c.username)
      .add_claim("email", c.username + "@tre.example")
      .add_claim("given_name", "Alice")
      .add_claim("family_name", "Jones")
      .add_claim("iss", c.iss)
      .add_claim("aud", c.aud)
      .add_claim("realm_access", nlohmann::json{{"roles", c.roles}});
  if (c.exp) obj.add_claim("exp", *c.exp);
  if (c.nbf) obj.add_claim("nbf", *c.nbf);
  return obj.signature();
}

/// A token whose header and payload are given as they are, with `signature` (raw bytes).
std::string forge(const bjson::object& header, const bjson::object& payload,
                  const std::string& signature) {
  return base64url_encode(bjson::serialize(header)) + "." +
         base64url_encode(bjson::serialize(payload)) + "." + base64url_encode(signature);
}

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = sizeof out;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
            &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

struct jwt_world {
  test_key rsa = make_key("rsa-1", "RS256");
  test_key ec = make_key("ec-1", "ES256");
  trevor::test::temp_dir dir;
  std::string jwks_path = dir.path() + "/jwks.json";
  std::unique_ptr<daemon> d;

  jwt_world() {
    write_jwks({&rsa, &ec});
    d = std::make_unique<daemon>([this](config& c) {
      c.dev_auth_bypass = false;
      c.jwks_file = jwks_path;
      c.oidc_issuer = issuer;
      c.oidc_audience = audience;
    });
  }
  void write_jwks(const std::vector<const test_key*>& keys) {
    const auto tmp = jwks_path + ".tmp";
    std::ofstream(tmp) << jwks_of(keys);
    std::filesystem::rename(tmp, jwks_path);
  }
  http_response me(const std::string& token) { return d->get("/users/me", token); }
};

}  // namespace

TEST_CASE("RS256 and ES256 tokens from the JWKS are accepted and name the user") {
  jwt_world w;
  claims_spec c;
  c.roles = {"tre_admin", "offline_access"};
  auto r = w.me(mint(w.rsa, c));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const auto me = r.json();
  CHECK(me.at("username").as_string() == "jwt-alice");
  CHECK(me.at("email").as_string() == "jwt-alice@tre.example");
  CHECK(me.at("given_name").as_string() == "Alice");
  CHECK(me.at("is_admin").as_bool());
  c.roles = {};
  auto ec = w.me(mint(w.ec, c));
  REQUIRE_MESSAGE(ec.status == 200, ec.body);
  CHECK(ec.json().at("id") == me.at("id"));  // the same subject is the same user
  CHECK_FALSE(ec.json().at("is_admin").as_bool());
  // An audience list containing ours is fine.
  c.aud = nlohmann::json::array({"account", audience});
  CHECK(w.me(mint(w.rsa, c)).status == 200);
}

TEST_CASE("expired, not-yet-valid, foreign issuer or audience, missing sub: 401 with the reason") {
  jwt_world w;
  const auto now = std::chrono::system_clock::now();
  struct refusal {
    std::function<void(claims_spec&)> change;
    std::string reason;
  };
  const std::vector<refusal> cases{
      {[&](claims_spec& c) { c.exp = now - 10min; }, "expired"},
      {[&](claims_spec& c) { c.exp.reset(); }, "exp"},
      {[&](claims_spec& c) { c.nbf = now + 10min; }, "not valid yet"},
      {[&](claims_spec& c) { c.iss = "https://evil.example/realms/tre"; }, "issuer"},
      {[&](claims_spec& c) { c.aud = "another-service"; }, "not meant for"},
      {[&](claims_spec& c) {
         c.aud = nlohmann::json::array({"a", "b"});
       },
       "not meant for"},
      {[&](claims_spec& c) { c.sub = ""; }, "sub"},
  };
  for (const auto& k : {&w.rsa, &w.ec})
    for (const auto& x : cases) {
      claims_spec c;
      x.change(c);
      auto r = w.me(mint(*k, c));
      CHECK_MESSAGE(r.status == 401, k->alg << " " << x.reason << ": " << r.body);
      CHECK_MESSAGE(r.detail().find(x.reason) != std::string::npos, r.body);
    }
  // Within the leeway an expiry just passed is still accepted.
  claims_spec skew;
  skew.exp = now - 5s;
  CHECK(w.me(mint(w.rsa, skew)).status == 200);
}

TEST_CASE("algorithm attacks: none, HMAC with the public key, swapped keys, tampering") {
  jwt_world w;
  claims_spec c;
  const auto good = mint(w.rsa, c);
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  const auto payload =
      bjson::parse(base64url_decode(good.substr(dot1 + 1, dot2 - dot1 - 1))).as_object();

  auto none = w.me(forge({{"alg", "none"}, {"typ", "JWT"}}, payload, ""));
  CHECK(none.status == 401);
  CHECK(none.detail().find("'none'") != std::string::npos);

  // HS256 "signed" with the RSA public key as the secret (the classic confusion attack).
  const bjson::object hs_header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "rsa-1"}};
  const auto signing_input = base64url_encode(bjson::serialize(hs_header)) + "." +
                             base64url_encode(bjson::serialize(payload));
  const auto hs =
      signing_input + "." + base64url_encode(hmac_sha256(w.rsa.public_pem, signing_input));
  auto hs_r = w.me(hs);
  CHECK(hs_r.status == 401);
  CHECK(hs_r.detail().find("HS256") != std::string::npos);
  // cpp-jwt's own HS256 token with the public key: refused the same way.
  jwt::jwt_object hmac{jwt::params::algorithm("HS256"), jwt::params::secret(w.rsa.public_pem)};
  hmac.add_claim("sub", "x").add_claim("iss", issuer).add_claim("aud", audience);
  CHECK(w.me(hmac.signature()).status == 401);

  // The header claims ES256 with the RSA key's kid: no such key.
  auto swapped = w.me(mint(w.ec, c, std::string("rsa-1")));
  CHECK(swapped.status == 401);
  // A kid the JWKS does not hold.
  auto unknown = w.me(mint(w.rsa, c, std::string("rsa-9")));
  CHECK(unknown.status == 401);
  CHECK(unknown.detail().find("rsa-9") != std::string::npos);
  // A key the provider never published.
  auto stranger = make_key("rsa-1", "RS256");
  CHECK(w.me(mint(stranger, c)).status == 401);

  // Tampered payload (admin role added) with the original signature.
  auto tampered_payload = payload;
  tampered_payload["realm_access"] = bjson::object{{"roles", bjson::array{"tre_admin"}}};
  const auto tampered = good.substr(0, dot1) + "." +
                        base64url_encode(bjson::serialize(tampered_payload)) + good.substr(dot2);
  auto t = w.me(tampered);
  CHECK(t.status == 401);
  CHECK(t.detail().find("signature") != std::string::npos);
  // Structural garbage.
  for (const auto& junk : {"a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.", ""}) {
    auto r = w.me(junk);
    CHECK_MESSAGE(r.status == 401, junk);
  }
  // The development bypass is off here.
  CHECK(w.me("dev:admin:tre_admin").status == 401);
  CHECK(w.me(good).status == 200);
}

TEST_CASE("a token whose header marks extensions as critical (crit) is 401 (RFC 7515 §4.1.11)") {
  jwt_world w;
  claims_spec c;
  for (const auto& crit :
       {nlohmann::json::array({"http://example.com/ext"}), nlohmann::json::array({"exp"}),
        nlohmann::json::array(), nlohmann::json("b64")}) {
    jwt::jwt_object obj{jwt::params::algorithm("RS256"), jwt::params::secret(w.rsa.private_pem)};
    obj.header().add_header("kid", w.rsa.kid);
    obj.header().add_header("crit", crit);
    obj.header().add_header("http://example.com/ext", true);
    obj.add_claim("sub", c.sub)
        .add_claim("preferred_username", c.username)
        .add_claim("iss", c.iss)
        .add_claim("aud", c.aud)
        .add_claim("exp", *c.exp);
    auto r = w.me(obj.signature());
    CHECK_MESSAGE(r.status == 401, crit.dump());
    CHECK(r.detail().find("crit") != std::string::npos);
  }
  // The same token without crit is accepted.
  CHECK(w.me(mint(w.rsa, c)).status == 200);
}

TEST_CASE("a rotated JWKS file is picked up without a restart") {
  jwt_world w;
  claims_spec c;
  auto next = make_key("rsa-2", "RS256");
  CHECK(w.me(mint(next, c)).status == 401);
  w.write_jwks({&next});
  std::this_thread::sleep_for(1100ms);  // file checks happen at most once a second
  bool accepted = false;
  for (int i = 0; i < 50 && !accepted; ++i) {
    accepted = w.me(mint(next, c)).status == 200;
    if (!accepted) std::this_thread::sleep_for(100ms);
  }
  CHECK(accepted);
  CHECK(w.me(mint(w.rsa, c)).status == 401);  // the retired key is gone
}

namespace {
/// A tiny HTTP server answering every GET with `body` (the identity provider's
/// JWKS endpoint), counting the requests it served.
class jwks_server {
 public:
  explicit jwks_server(std::string body) : body_(std::move(body)) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] {
      for (;;) {
        boost::asio::ip::tcp::socket s(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stopping_) return;
        boost::beast::flat_buffer buf;
        boost::beast::http::request<boost::beast::http::string_body> req;
        boost::beast::http::read(s, buf, req, ec);
        if (ec) continue;
        boost::beast::http::response<boost::beast::http::string_body> res{
            boost::beast::http::status::ok, 11};
        res.set(boost::beast::http::field::content_type, "application/json");
        res.body() = body_;
        res.prepare_payload();
        boost::beast::http::write(s, res, ec);
        ++served_;
      }
    });
  }
  ~jwks_server() {
    stopping_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string url() const {
    return fmt::format("http://127.0.0.1:{}/realms/tre/protocol/openid-connect/certs",
                       acceptor_.local_endpoint().port());
  }
  int served() const { return served_; }

 private:
  std::string body_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::atomic<bool> stopping_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};
}  // namespace

TEST_CASE("TREVOR_JWKS_URL: keys downloaded from the provider at start") {
  auto key = make_key("url-key", "ES256");
  jwks_server provider(jwks_of({&key}));
  daemon d([&](config& c) {
    c.dev_auth_bypass = false;
    c.jwks_url = provider.url();
    c.oidc_issuer = issuer;
    c.oidc_audience = audience;
  });
  // The provider counts a download after writing it, which the daemon may
  // have read first: wait for the count, with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (provider.served() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(provider.served() == 1);
  claims_spec c;
  auto me = d.get("/users/me", mint(key, c));
  CHECK_MESSAGE(me.status == 200, me.body);
  // Tokens naming a kid the set lacks may trigger a new download, but at most
  // one per 30 s: forged kids cannot make the daemon hammer the provider.
  auto stranger = make_key("other", "ES256");
  for (int i = 0; i < 5; ++i) CHECK(d.get("/users/me", mint(stranger, c)).status == 401);
  CHECK(provider.served() == 1);
}

TEST_CASE("JWKS parsing: unusable documents are refused, foreign keys skipped") {
  CHECK_THROWS_AS(key_set::parse("not json"), token_error);
  CHECK_THROWS_AS(key_set::parse("{}"), token_error);
  CHECK_THROWS_AS(key_set::parse(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})"), token_error);
  auto k = make_key("ec-x", "ES256");
  auto enc = k.jwk;
  enc["use"] = "enc";
  CHECK_THROWS_AS(key_set::parse(jwks_of({})), token_error);
  const auto set = key_set::parse(bjson::serialize(bjson::object{
      {"keys", bjson::array{enc, k.jwk, bjson::object{{"kty", "oct"}, {"k", "c2VjcmV0"}}}}}));
  CHECK(set->size() == 1);
  CHECK(set->has_kid("ec-x"));
  auto short_rsa = make_key("r", "RS256").jwk;
  short_rsa["n"] = base64url_encode(std::string(128, '\x7f'));  // 1024 bits
  CHECK_THROWS_AS(
      key_set::parse(bjson::serialize(bjson::object{{"keys", bjson::array{short_rsa}}})),
      token_error);
  auto off_curve = k.jwk;
  off_curve["y"] = off_curve["x"];
  CHECK_THROWS_AS(
      key_set::parse(bjson::serialize(bjson::object{{"keys", bjson::array{off_curve}}})),
      token_error);
}

TEST_CASE("base64url round trips and rejects other alphabets") {
  for (std::size_t n = 0; n < 70; ++n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * 37 + n) & 0xFF));
    CHECK(base64url_decode(base64url_encode(s)) == s);
  }
  CHECK_THROWS_AS(base64url_decode("ab+/"), token_error);
  CHECK_THROWS_AS(base64url_decode("abc="), token_error);
  CHECK_THROWS_AS(base64url_decode("a"), token_error);
}

}  // namespace trevord::test
