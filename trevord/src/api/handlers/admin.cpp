// The admin dashboard: request overview, pipeline metrics, checker
// performance, project summaries, audit search and CSV export.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"

namespace trevord::handlers {

namespace {

/// An RFC 3339 time, or a plain date (YYYY-MM-DD: that day's 00:00 UTC).
trevor::timestamp parse_time(std::string_view name, std::string_view text) {
  const bool plain_date = text.size() == 10 && text[4] == '-' && text[7] == '-';
  auto t =
      trevor::timestamp::parse(plain_date ? fmt::format("{}T00:00:00Z", text) : std::string(text));
  if (!t) invalid(name, fmt::format("'{}' is not an RFC 3339 time or a date (YYYY-MM-DD)", text));
  return *t;
}

/// The audit filters of the query string (both endpoints).
trevor::audit_query audit_filters(const call& c) {
  trevor::audit_query q;
  q.project_id = c.query_id("project_id");
  q.request_id = c.query_id("request_id");
  if (auto v = c.query_value("actor_id"); v && !v->empty()) q.actor = *v;
  if (auto v = c.query_value("event_type"); v && !v->empty()) q.event_type_prefix = *v;
  for (auto [name, field] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}})
    if (auto v = c.query_value(name)) *field = parse_time(name, *v);
  return q;
}

/// since / until / project_id (the read models' window).
trevor::window_query window_filters(const call& c) {
  trevor::window_query w;
  w.project_id = c.query_id("project_id");
  for (auto [name, field] : {std::pair{"since", &w.since}, std::pair{"until", &w.until}})
    if (auto v = c.query_value(name)) *field = parse_time(name, *v);
  return w;
}

/// {items, total} of a list that is returned whole.
template <class T>
json::object whole_list(const std::vector<T>& items) {
  return json::object{{"items", to_json(items)}, {"total", items.size()}};
}

// The largest page /admin/audit serves (trevord/openapi.json).
constexpr long long max_admin_audit_page = 500;
constexpr long long default_admin_audit_page = 100;

}  // namespace

reply admin_requests(api& a, call& c) {
  trevor::overview_query q;
  if (auto v = c.query_value("status"); v && !v->empty()) {
    std::string_view rest = *v;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      q.statuses.push_back(parse_choice<trevor::request_status>("status", rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  q.project_id = c.query_id("project_id");
  if (auto v = c.query_value("direction"))
    q.direction = parse_choice<trevor::direction>("direction", *v);
  if (auto v = c.query_value("sort")) {
    const auto sort = trevor::parse_overview_sort(*v);
    if (!sort)
      invalid("sort", fmt::format("'{}' is not one of updated_at, submitted_at, created_at, status "
                                  "(prefix '-' for descending)",
                                  *v));
    q.sort = sort->first;
    q.descending = sort->second;
  }
  q.limit = c.query_integer("limit", 1, trevor::max_overview_page).value_or(50);
  q.offset = c.query_integer("offset", 0, std::numeric_limits<std::int64_t>::max()).value_or(0);
  const auto page = a.dashboard.request_overview(person(c), q);
  return ok(json::object{{"items", to_json(page.items)}, {"total", page.total}});
}

reply admin_metrics(api& a, call& c) {
  return ok(to_json(a.dashboard.metrics(person(c), window_filters(c))));
}

reply admin_checkers(api& a, call& c) {
  return ok(whole_list(a.dashboard.checkers(person(c), window_filters(c))));
}

reply admin_projects(api& a, call& c) {
  return ok(whole_list(a.dashboard.projects(person(c), window_filters(c))));
}

reply admin_audit(api& a, call& c) {
  auto q = audit_filters(c);
  q.limit = static_cast<std::size_t>(
      c.query_integer("limit", 1, max_admin_audit_page).value_or(default_admin_audit_page));
  q.cursor = c.query_value("cursor").value_or("");
  const auto page = a.dashboard.audit_search(person(c), q);
  return ok(
      json::object{{"items", to_json(page.items)},
                   {"next_cursor", page.next_cursor.empty() ? json::value(nullptr)
                                                            : json::value(page.next_cursor)}});
}

namespace {

/// A file with no name (gone when its last descriptor closes, a kill -9
/// included) in the storage area's scratch directory: on disk, not in memory.
class spool_file {
 public:
  explicit spool_file(const std::string& storage_dir) {
    const auto dir = std::filesystem::path(storage_dir) / ".scratch";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0) {  // a file system without O_TMPFILE: a named file, unlinked at once
      auto name = (dir / "trevor-export-XXXXXX").string();
      fd_ = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd_ >= 0) ::unlink(name.c_str());
    }
    if (fd_ < 0)
      throw trevor::error(
          trevor::errc::unavailable,
          fmt::format("blob store: cannot create the audit export's spool file in {} "
                      "(TREVOR_STORAGE_DIR): {}",
                      dir.string(), std::strerror(errno)));
  }
  ~spool_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  spool_file(const spool_file&) = delete;
  spool_file& operator=(const spool_file&) = delete;

  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw trevor::error(
            trevor::errc::unavailable,
            fmt::format("blob store: cannot write the audit export's spool file: {}",
                        std::strerror(errno)));
      bytes.remove_prefix(static_cast<std::size_t>(n));
      size_ += static_cast<std::uint64_t>(n);
    }
  }
  std::uint64_t size() const { return size_; }
  /// A reader of everything written, from the start; it owns the descriptor.
  trevor::byte_reader reader() {
    auto owned = std::shared_ptr<int>(new int(fd_), [](int* p) {
      ::close(*p);
      delete p;
    });
    fd_ = -1;
    return [owned, offset = off_t{0}](char* buf, std::size_t cap) mutable -> std::size_t {
      for (;;) {
        const auto n = ::pread(*owned, buf, cap, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
          throw trevor::error(trevor::errc::unavailable,
                              "blob store: cannot read the audit export's spool file");
        offset += n;
        return static_cast<std::size_t>(n);
      }
    };
  }

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace

/// The export is written whole by the worker into a spool file (the database
/// work, at the database's pace), then sent by the server off the worker like
/// every download: a client that reads slowly holds a socket and a file,
/// never a worker or a database connection.
reply admin_audit_export(api& a, call& c) {
  const auto q = audit_filters(c);
  spool_file spool(a.cfg.storage_dir);
  a.dashboard.audit_export_csv(person(c), q, [&](std::string_view chunk) { spool.write(chunk); });
  const auto size = spool.size();
  c.sink->stream(size, "text/csv; charset=utf-8", "attachment; filename=\"audit.csv\"",
                 spool.reader());
  reply r;
  r.streamed = true;
  return r;
}

reply admin_notification_deliveries(api& a, call& c) {
  trevor::delivery_query q;
  if (auto v = c.query_value("state"); v && !v->empty()) {
    std::string_view rest = *v;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto one = rest.substr(0, comma);
      const auto state = trevor::parse_delivery_state(one);
      if (!state)
        invalid("state",
                fmt::format("'{}' is not one of pending, delivered, given_up, skipped", one));
      q.states.push_back(*state);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  if (auto v = c.query_value("channel")) {
    q.channel = trevor::parse_notify_channel(*v);
    if (!q.channel) invalid("channel", fmt::format("'{}' is not one of email, webhook", *v));
  }
  q.limit = static_cast<std::size_t>(
      c.query_integer("limit", 1, static_cast<long long>(trevor::max_delivery_page)).value_or(50));
  q.offset = static_cast<std::size_t>(
      c.query_integer("offset", 0, std::numeric_limits<std::int32_t>::max()).value_or(0));
  const auto page = a.notifier.deliveries(person(c), q);
  json::object counts;
  for (const auto& [channel, states] : page.counts) {
    json::object by_state;
    for (const auto& [state, n] : states) by_state[state] = n;
    counts[channel] = std::move(by_state);
  }
  return ok(json::object{
      {"items", to_json(page.items)}, {"total", page.total}, {"counts", std::move(counts)}});
}

}  // namespace trevord::handlers
