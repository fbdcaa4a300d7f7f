#include "notify/transport.hpp"

#include <array>
#include <ctime>
#include <memory>
#include <mutex>
#include <span>

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/json.hpp>

#include "audit/signed_note.hpp"
#include "trevor/error.hpp"
#include "trevor/version.hpp"

namespace trevor {

std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
            &len))
    throw error(errc::internal, "webhook signature: HMAC-SHA256 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[mac[i] >> 4]);
    out.push_back(hex[mac[i] & 0xf]);
  }
  return out;
}

bool is_plain_email_address(std::string_view address) noexcept {
  return detail::plain_address(address);
}

namespace detail {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct curl_deleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using curl_handle = std::unique_ptr<CURL, curl_deleter>;
using curl_list = std::unique_ptr<curl_slist, slist_deleter>;

curl_list append(curl_list list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (!grown) throw error(errc::internal, "libcurl: out of memory");
  (void)list.release();
  return curl_list(grown);
}

curl_handle new_handle(std::chrono::milliseconds timeout, char* errbuf) {
  global_init();
  curl_handle h(curl_easy_init());
  if (!h) throw error(errc::internal, "libcurl: curl_easy_init failed");
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long long>(timeout.count(), 10'000)));
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  errbuf[0] = '\0';
  return h;
}

std::string curl_failure(CURLcode rc, const char* errbuf) {
  return errbuf[0] ? fmt::format("{} ({})", curl_easy_strerror(rc), errbuf)
                   : std::string(curl_easy_strerror(rc));
}

/// Header text: control characters (CR, LF, …) become spaces.
std::string header_safe(std::string_view text) {
  std::string out(text);
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return out;
}

bool ascii_printable(std::string_view text) {
  for (char ch : text)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
      return false;
  return true;
}

/// An unstructured header's value: as is when printable ASCII, otherwise
/// RFC 2047 encoded words (UTF-8, base64) of whole characters, folded.
std::string encoded_header(std::string_view text) {
  const std::string clean = header_safe(text);
  if (ascii_printable(clean)) return clean;
  std::string out;
  std::size_t i = 0;
  while (i < clean.size()) {
    std::size_t end = std::min(clean.size(), i + 45);
    // Never split a UTF-8 sequence: back up to a lead byte.
    while (end < clean.size() && end > i && (static_cast<unsigned char>(clean[end]) & 0xc0) == 0x80)
      --end;
    const auto* bytes = reinterpret_cast<const unsigned char*>(clean.data() + i);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64_encode(std::span<const unsigned char>(bytes, end - i)) + "?=";
    i = end;
  }
  return out;
}

/// Quoted-printable (RFC 2045 §6.7) with CRLF line ends.
std::string quoted_printable(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t col = 0;
    for (std::size_t k = 0; k < line.size(); ++k) {
      const auto b = static_cast<unsigned char>(line[k]);
      const bool last = k + 1 == line.size();
      const bool encode =
          b == '=' || b > 126 || (b < 32 && b != '\t') || ((b == ' ' || b == '\t') && last);
      std::string piece = encode ? std::string{'=', hex[b >> 4], hex[b & 0xf]}
                                 : std::string(1, static_cast<char>(b));
      if (col + piece.size() > 75) {
        out += "=\r\n";
        col = 0;
      }
      out += piece;
      col += piece.size();
    }
    out += "\r\n";
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string rfc5322_date(timestamp t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = static_cast<std::time_t>(t.micros() / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/// What the notification is about, in a few words (the Subject's prefix is
/// the title itself; this is the body's "what happened").
std::string_view what_happened(std::string_view event_type) {
  if (event_type == "request.submitted") return "submitted for review";
  if (event_type == "agent_review.ready") return "the automated review is ready";
  if (event_type == "request.approved") return "approved";
  if (event_type == "request.changes_requested") return "changes requested";
  if (event_type == "request.rejected") return "rejected";
  if (event_type == "request.released") return "released";
  if (event_type == "request.delivered") return "delivered";
  if (event_type == "request.revoked") return "revoked";
  if (event_type == "request.stuck") return "waiting too long";
  if (event_type == "presigned_url.expiring_soon") return "download link expiring";
  return event_type;
}

std::size_t read_message(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* rest = static_cast<std::string_view*>(user);
  const std::size_t k = std::min(size * n, rest->size());
  std::copy_n(rest->data(), k, buffer);
  rest->remove_prefix(k);
  return k;
}

std::size_t keep_some(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < 300) out->append(data, std::min(size * n, 300 - out->size()));
  return size * n;
}

}  // namespace

bool plain_address(std::string_view a) noexcept {
  if (a.empty() || a.size() > 254) return false;
  const auto at = a.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == a.size()) return false;
  if (a.find('@', at + 1) != std::string_view::npos) return false;
  for (char ch : a) {
    const auto b = static_cast<unsigned char>(ch);
    if (b <= 0x20 || b == 0x7f) return false;
    if (ch == '<' || ch == '>' || ch == '"' || ch == ',' || ch == ';' || ch == '(' || ch == ')' ||
        ch == '\\' || ch == '[' || ch == ']')
      return false;
  }
  return true;
}

std::string request_url(std::string_view public_url, const uuid& request_id) {
  while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
  return fmt::format("{}/requests/{}", public_url, request_id.str());
}

std::string email_message(const smtp_options& smtp, std::string_view public_url,
                          const outgoing_notification& n, timestamp now) {
  const auto domain = smtp.from.substr(smtp.from.find('@') + 1);
  std::string text = n.title + "\n\n";
  if (!n.body.empty()) text += n.body + "\n\n";
  if (n.request_id) {
    text += fmt::format("Request: {}\nWhat happened: {}\nLink: {}\n\n",
                        n.request_title.empty() ? n.request_id->str() : n.request_title,
                        what_happened(n.event_type), request_url(public_url, *n.request_id));
  } else {
    text += fmt::format("What happened: {}\n\n", what_happened(n.event_type));
  }
  text += fmt::format(
      "-- \nSent by the trevor airlock ({}) to {} because of your role in a project.\n"
      "Notification {} ({}).\n",
      public_url, n.username, n.id.str(), n.event_type);

  std::string m;
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "From: " + smtp.from + "\r\n";
  m += "To: " + n.email + "\r\n";
  m += "Subject: " + encoded_header("[trevor] " + n.title) + "\r\n";
  m += fmt::format("Message-ID: <{}.email@{}>\r\n", n.id.str(), domain);
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "X-Trevor-Notification: " + n.id.str() + "\r\n";
  m += "X-Trevor-Event: " + header_safe(n.event_type) + "\r\n";
  m += "\r\n";
  m += quoted_printable(text);
  return m;
}

std::string webhook_body(std::string_view public_url, const outgoing_notification& n) {
  boost::json::object o{
      {"id", n.id.str()},
      {"event_type", n.event_type},
      {"title", n.title},
      {"body", n.body},
      {"created_at", n.created_at.str()},
      {"recipient", boost::json::object{{"user_id", n.user_id.str()},
                                        {"username", n.username},
                                        {"email", n.email.empty() ? boost::json::value(nullptr)
                                                                  : boost::json::value(n.email)}}},
      {"request", n.request_id ? boost::json::value(boost::json::object{
                                     {"id", n.request_id->str()},
                                     {"title", n.request_title},
                                     {"url", request_url(public_url, *n.request_id)}})
                               : boost::json::value(nullptr)},
      {"attempt", n.attempt}};
  return boost::json::serialize(o);
}

send_result send_email(const smtp_options& smtp, const std::string& recipient,
                       const std::string& message, std::chrono::milliseconds timeout) {
  char errbuf[CURL_ERROR_SIZE];
  auto h = new_handle(timeout, errbuf);
  curl_list rcpt = append(nullptr, "<" + recipient + ">");
  const std::string from = "<" + smtp.from + ">";
  std::string_view rest = message;
  curl_easy_setopt(h.get(), CURLOPT_URL, smtp.url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h.get(), CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h.get(), CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h.get(), CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(h.get(), CURLOPT_READDATA, &rest);
  curl_easy_setopt(h.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(h.get(), CURLOPT_USE_SSL,
                   smtp.tls == smtp_tls::required        ? static_cast<long>(CURLUSESSL_ALL)
                   : smtp.tls == smtp_tls::opportunistic ? static_cast<long>(CURLUSESSL_TRY)
                                                         : static_cast<long>(CURLUSESSL_NONE));
  if (!smtp.ca_file.empty()) curl_easy_setopt(h.get(), CURLOPT_CAINFO, smtp.ca_file.c_str());
  if (!smtp.user.empty()) {
    curl_easy_setopt(h.get(), CURLOPT_USERNAME, smtp.user.c_str());
    curl_easy_setopt(h.get(), CURLOPT_PASSWORD, smtp.password.c_str());
  }
  const CURLcode rc = curl_easy_perform(h.get());
  if (rc == CURLE_OK) return {true, {}};
  long code = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
  return {false, code ? fmt::format("SMTP {}: {}", code, curl_failure(rc, errbuf))
                      : "SMTP: " + curl_failure(rc, errbuf)};
}

send_result post_webhook(const webhook_options& hook, const outgoing_notification& n,
                         const std::string& body, std::chrono::milliseconds timeout,
                         timestamp now) {
  char errbuf[CURL_ERROR_SIZE];
  auto h = new_handle(timeout, errbuf);
  const std::string ts = std::to_string(now.micros() / 1'000'000);
  curl_list headers = append(nullptr, "Content-Type: application/json");
  headers = append(std::move(headers), "X-Trevor-Timestamp: " + ts);
  headers = append(std::move(headers),
                   "X-Trevor-Signature: v1=" + webhook_signature(hook.secret, ts, body));
  headers = append(std::move(headers), "Idempotency-Key: " + n.id.str());
  headers = append(std::move(headers), "X-Trevor-Event: " + header_safe(n.event_type));
  headers = append(std::move(headers), fmt::format("X-Trevor-Attempt: {}", n.attempt));
  headers = append(std::move(headers), "Expect:");
  const std::string agent = std::string("trevor/") + version;
  std::string answer;
  curl_easy_setopt(h.get(), CURLOPT_URL, hook.url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h.get(), CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, keep_some);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &answer);
  const CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) return {false, "webhook: " + curl_failure(rc, errbuf)};
  long code = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) return {true, {}};
  return {false, fmt::format("webhook: HTTP {}: {}", code, header_safe(answer))};
}

}  // namespace detail
}  // namespace trevor
