#include "service/common.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <algorithm>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "store/audit_store.hpp"
#include "store/multi_insert.hpp"
#include "store/notifications.hpp"
#include "store/objects.hpp"
#include "store/requests.hpp"
#include "store/reviews.hpp"
#include "store/users.hpp"
#include "trevor/error.hpp"
#include "trevor/signed_link.hpp"

namespace trevor::detail {

void require_active(const std::optional<bool>& active) {
  if (!active) throw error(errc::forbidden, "actor: not a known user");
  if (!*active) throw error(errc::forbidden, "actor: the user is deactivated");
}

user require_active_user(connection& c, const actor& who) {
  if (who.is_agent())
    throw error(errc::forbidden,
                "actor: the agent may only read requests and record agent reviews");
  auto u = find_user(c, who.user_id);
  require_active(u ? std::optional<bool>(u->active) : std::nullopt);
  return std::move(*u);
}

actor_facts facts_of(const actor& who, const request_facts& f) {
  actor_facts a;
  a.is_agent = who.is_agent();
  a.auditor = who.auditor && !a.is_agent;
  a.tre_admin = who.tre_admin && !a.is_agent && !a.auditor;
  a.is_owner = !a.is_agent && f.request.owner_id == who.user_id;
  a.roles = f.roles;
  return a;
}

void require_visible(const actor_facts& a, const uuid& request_id) {
  if (!may_see(a))
    throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
}

void require_party(const transition_rule& rule, const actor_facts& a, direction d) {
  if (acts_as(rule.who, a, d)) return;
  std::string_view who;
  switch (rule.who) {
    case party::contributor:
      who = d == direction::egress ? "a researcher on the project"
                                   : "tre_admin or a senior checker on the project";
      break;
    case party::owner_or_admin: who = "the request's owner or tre_admin"; break;
    case party::admin: who = "tre_admin"; break;
    case party::agent: who = "the agent"; break;
    case party::system: who = "trevor itself"; break;
  }
  if (a.auditor)
    throw error(errc::forbidden, fmt::format("{}: an auditor is read-only; only {} may do this",
                                             to_string(rule.op), who));
  throw error(errc::forbidden, fmt::format("{}: only {} may do this", to_string(rule.op), who));
}

request_facts visible_request(connection& c, const uuid& request_id, const actor& who, bool lock) {
  auto f = load_request_facts(c, request_id, who.user_id, lock);
  if (!f) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
  if (!who.is_agent()) require_active(f->actor_active);
  require_visible(facts_of(who, *f), request_id);
  return std::move(*f);
}

airlock_request readable_request(connection& c, const uuid& request_id, const actor& who) {
  auto f = load_request_for_reader(c, request_id, who.user_id);
  if (!f) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
  if (!who.is_agent()) require_active(f->actor_active);
  require_visible(facts_of(who, *f), request_id);
  return std::move(f->request);
}

request_facts readable_request_facts(connection& c, const uuid& request_id, const actor& who) {
  auto f = load_request_for_reader(c, request_id, who.user_id);
  if (!f) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
  if (!who.is_agent()) require_active(f->actor_active);
  require_visible(facts_of(who, *f), request_id);
  return std::move(*f);
}

std::vector<review> reviews_hidden_from(connection& c, const request_facts& f, const actor& who,
                                        bool independent) {
  const auto a = facts_of(who, f);
  if (!independent || !round_open(f.request.status) || !reviews_independently(a)) return {};
  auto round = list_reviews(c, f.request.id, f.request.review_round);
  const auto ids = hidden_reviews(f.request, round, who.user_id, a);
  std::erase_if(
      round, [&](const review& r) { return std::find(ids.begin(), ids.end(), r.id) == ids.end(); });
  return round;
}

bool is_hidden(const std::vector<review>& hidden, const uuid& id) {
  return std::any_of(hidden.begin(), hidden.end(), [&](const review& r) { return r.id == id; });
}

output_object object_in_request(connection& c, const uuid& request_id, const uuid& object_id) {
  auto o = find_object(c, object_id);
  if (!o || o->request_id != request_id)
    throw error(errc::not_found, fmt::format("object {} not found in request {}", object_id.str(),
                                             request_id.str()));
  return std::move(*o);
}

void event_batch::event(std::string actor, std::string_view type, std::optional<uuid> request_id,
                        std::optional<uuid> project_id, const boost::json::object& payload) {
  audit_event_input e;
  e.actor = std::move(actor);
  e.event_type = std::string(type);
  e.request_id = request_id;
  e.project_id = project_id;
  e.payload_json = boost::json::serialize(payload);
  events_.push_back(std::move(e));
  event_ids_.push_back(next());
}

void event_batch::notify(const std::vector<uuid>& recipients, std::string_view type,
                         std::string title, std::string body,
                         const std::optional<uuid>& request_id) {
  std::vector<uuid> once = recipients;
  std::sort(once.begin(), once.end());
  once.erase(std::unique(once.begin(), once.end()), once.end());
  for (const auto& user : once) {
    notification n;
    n.id = next();
    n.user_id = user;
    n.event_type = std::string(type);
    n.title = title;
    n.body = body;
    n.request_id = request_id;
    notes_.push_back(std::move(n));
  }
}

void event_batch::write(connection& c) {
  write_chain w;
  add_to(w);
  w.run(c);
}

void event_batch::add_to(write_chain& w) const {
  add_audit_events(w, events_, event_ids_);
  add_notifications(w, notes_);
}

boost::json::value json_of(const std::optional<uuid>& id) {
  if (!id) return nullptr;
  return boost::json::string(id->str());
}

boost::json::object link_use(const link_client& client, std::string_view token) {
  return {{"link_id", link_signer::link_id(token)},
          {"client_address", client.address},
          {"user_agent", client.user_agent.substr(0, 255)}};
}

boost::json::object status_change(request_status from, request_status to, std::int64_t round) {
  return {{"from", to_string(from)}, {"to", to_string(to)}, {"round", round}};
}

boost::json::object object_state_change(const output_object& o, object_state to) {
  return {{"object_id", o.id.str()},
          {"logical_object_id", o.logical_object_id.str()},
          {"version", o.version},
          {"from", to_string(o.state)},
          {"to", to_string(to)}};
}

void require_json_object(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    throw error(errc::invalid_argument, fmt::format("{}: must be a JSON object", what));
}

void require_json(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  if (ec) throw error(errc::invalid_argument, fmt::format("{}: is not valid JSON", what));
}

std::optional<std::size_t> utf8_length(std::string_view text) noexcept {
  std::size_t count = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char b = *p;
    std::size_t n;
    char32_t cp;
    if (b < 0x80) {
      n = 1, cp = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 2, cp = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3, cp = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4, cp = b & 0x07u;
    } else {
      return std::nullopt;  // a continuation byte first, or C0, C1, F5..FF
    }
    if (static_cast<std::size_t>(end - p) < n) return std::nullopt;
    for (std::size_t i = 1; i < n; ++i) {
      if ((p[i] & 0xC0u) != 0x80u) return std::nullopt;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return std::nullopt;
    p += n;
    ++count;
  }
  return count;
}

void check_text(std::string_view text, std::string_view what, std::size_t max, bool required) {
  const auto length = utf8_length(text);
  if (!length) throw error(errc::invalid_argument, fmt::format("{}: is not valid UTF-8", what));
  if (*length > max)
    throw error(errc::invalid_argument, fmt::format("{}: longer than {} characters", what, max));
  if (text.find('\0') != std::string_view::npos)
    throw error(errc::invalid_argument, fmt::format("{}: contains a NUL byte", what));
  if (required && text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw error(errc::invalid_argument, fmt::format("{}: must not be empty", what));
}

std::optional<airlock_request> return_to_approved(connection& c, event_batch& batch,
                                                  const uuid& request_id,
                                                  const std::string& actor_name,
                                                  std::string_view reason,
                                                  const std::string& detail) {
  auto moved = detail::transition_request(c, request_id, request_status::releasing,
                                          request_status::approved, {});
  if (!moved) return std::nullopt;
  auto payload = detail::status_change(request_status::releasing, request_status::approved,
                                       moved->review_round);
  payload["reason"] = reason;
  payload["detail"] = detail;
  batch.event(actor_name, "request.release_failed", request_id, moved->project_id, payload);
  return moved;
}

const std::string& this_process() {
  static const std::string id = [] {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return fmt::format("{}:{}", host, ::getpid());
  }();
  return id;
}

bool process_gone(std::string_view holder) {
  const auto colon = holder.rfind(':');
  if (colon == std::string_view::npos) return false;
  const auto& me = this_process();
  if (holder.substr(0, colon) != std::string_view(me).substr(0, me.rfind(':'))) return false;
  long pid = 0;
  const auto digits = holder.substr(colon + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace trevor::detail
