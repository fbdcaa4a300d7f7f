#include "daemon/status.hpp"

#include <exception>

#include <fmt/format.h>

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
    return {false, e.what()};
  }
}

}  // namespace trevord
