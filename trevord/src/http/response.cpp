#include "http/response.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace trevord {

namespace json = boost::json;

response make_response(unsigned version, bool keep_alive, http::status status, std::string body,
                       std::string_view content_type, const std::string& request_id) {
  response res{status, version};
  res.set(http::field::server, "trevord");
  res.set("X-Request-Id", request_id);
  if (!body.empty() || status != http::status::no_content)
    res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response problem(unsigned version, bool keep_alive, http::status status, std::string_view detail,
                 const std::string& request_id) {
  json::object body;
  body["type"] = "about:blank";
  body["title"] = std::string(http::obsolete_reason(status));
  body["status"] = static_cast<int>(status);
  body["detail"] = detail;
  return make_response(version, keep_alive, status, json::serialize(body),
                       "application/problem+json", request_id);
}

}  // namespace trevord
