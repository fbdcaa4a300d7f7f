// A small blocking HTTP(S) GET for the identity provider's JWKS. Kept in its
// own file: it is the only user of Asio's SSL support.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <fmt/format.h>

#include "auth/http_get.hpp"

namespace trevord {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
// A JWKS is a few KiB; anything far larger is not one.
constexpr std::uint64_t max_jwks_bytes = 1024 * 1024;

template <class Stream>
asio::awaitable<std::string> exchange(Stream& stream, const std::string& host,
                                      const std::string& target) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "trevord");
  req.set(http::field::accept, "application/json");
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_jwks_bytes);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  auto res = parser.release();
  if (res.result() != http::status::ok)
    throw std::runtime_error(fmt::format("the server answered {}", res.result_int()));
  co_return std::move(res.body());
}

asio::awaitable<std::string> fetch(const std::string& url, std::chrono::seconds timeout) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error(fmt::format("'{}' is not a URL", url));
  const bool tls = parsed->scheme() == "https";
  const std::string host = parsed->host();
  const std::string port = parsed->has_port() ? std::string(parsed->port()) : (tls ? "443" : "80");
  const auto path = parsed->encoded_path();
  std::string target(path.data(), path.size());
  if (parsed->has_query()) {
    const auto query = parsed->encoded_query();
    target += "?" + std::string(query.data(), query.size());
  }
  if (target.empty()) target = "/";

  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  const auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
  if (!tls) {
    beast::tcp_stream stream(executor);
    stream.expires_after(timeout);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_return co_await exchange(stream, host, target);
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(executor, ctx);
  // SSL_set_tlsext_host_name() without its C cast.
  if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str())) != 1)
    throw std::runtime_error("cannot set the TLS server name");
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_return co_await exchange(stream, host, target);
}
}  // namespace

std::string http_get(const std::string& url, std::chrono::seconds timeout) {
  asio::io_context ioc;
  std::string body;
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(ioc, fetch(url, timeout), [&](std::exception_ptr e, std::string result) {
    failure = e;
    body = std::move(result);
    done = true;
  });
  ioc.run_for(timeout);  // also bounds name resolution
  if (!done) throw std::runtime_error(fmt::format("no answer within {} s", timeout.count()));
  if (failure) std::rethrow_exception(failure);
  return body;
}

}  // namespace trevord
