#include "daemon/status.hpp"

#include <exception>

#include <fmt/format.h>

#include "daemon/log.hpp"
#include "trevor/migrate.hpp"

namespace trevord {

std::pair<bool, std::string> daemon_status::readiness() const {
  if (draining) return {false, "draining"};
  try {
    db_.ping();
    const auto report = trevor::migrator(db_).status();
    if (!report.problems.empty()) return {false, report.problems.front()};
    if (!report.pending.empty())
      return {false, fmt::format("{} migration(s) pending; run `trevord migrate up`",
                                 report.pending.size())};
    return {true, ""};
  } catch (const std::exception& e) {
    // The driver's text names hosts, ports and server messages: for the log only.
    log(level::warning, "not ready", {{"error", e.what()}});
    return {false, fmt::format("{} (the server's log has the details)", database_unavailable)};
  }
}

}  // namespace trevord
