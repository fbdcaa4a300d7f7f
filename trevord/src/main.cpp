// trevord: the airlock daemon, and the schema commands operators run.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/sdc_check.hpp"
#include "daemon/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "trevor/database.hpp"
#include "trevor/database_url.hpp"
#include "trevor/error.hpp"
#include "trevor/migrate.hpp"
#include "trevor/version.hpp"

namespace {

constexpr const char* usage = R"(usage: trevord [COMMAND]

Commands:
  serve                     run the HTTP server (the default)
  migrate status            list applied and pending migrations; exit 1 if any
                            is pending or the database disagrees with this build
  migrate up                apply pending migrations (one transaction each)
  migrate verify            exit 1 if an applied migration's checksum differs,
                            the database has migrations this build does not
                            know, or none is applied at all
  migrate plan              print the SQL that `migrate up` would run
                            ("nothing to apply" when the schema is current)
  db grant-app-role ROLE    PostgreSQL: grant an existing login role exactly the
                            privileges the application needs (run as the owner,
                            after `migrate up`)
  sdc check FILE --statbarn S [--output-type T] [--policy P] [--project NAME]
            [--evidence E] [--justification TEXT]
                            the built-in agent's SDC checks on a local file:
                            prints the findings JSON; exit 0 approved,
                            1 escalated (a critical check failed), 2 changes
                            requested (a warning failed or a human must
                            look), 3 could not check, 64 usage
  --help, -h                this text
  --version                 the version

Only `serve` and `migrate up` create a SQLite file that does not exist; the
other commands refuse it ("no database at PATH").

Configuration comes from the environment (DATABASE_URL, TREVOR_ENV, ...);
see trevord/README.md for the full table.
)";

/// Prints `message` to stderr, each of its lines as "trevord: <line>".
int fail(const std::string& message, int code = 1) {
  std::string_view rest = message;
  do {
    const auto nl = rest.find('\n');
    const auto line = rest.substr(0, nl);
    std::fprintf(stderr, "trevord: %.*s\n", static_cast<int>(line.size()), line.data());
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  } while (!rest.empty());
  return code;
}

trevor::database open_database(const trevord::config& cfg) {
  return trevor::database::open(cfg.database_url, {.pool_size = cfg.db_pool_size});
}

/// For the commands that only read: opening a SQLite file that does not exist
/// would create an empty one, so a mistyped path is refused before it is
/// opened. (PostgreSQL never creates a database on connecting; `:memory:` is
/// not a file.)
trevor::database open_existing_database(const trevord::config& cfg) {
  const auto url = trevor::parse_database_url(cfg.database_url);
  if (url.kind == trevor::engine::sqlite && !url.in_memory()) {
    std::error_code ec;  // a path that cannot be checked is left to the driver's error
    if (!std::filesystem::exists(url.sqlite_path, ec) && !ec)
      throw trevor::error(trevor::errc::not_found,
                          fmt::format("no database at {} (DATABASE_URL {}); `trevord migrate up` "
                                      "creates one",
                                      url.sqlite_path, url.redacted));
  }
  return open_database(cfg);
}

int migrate_command(const trevord::config& cfg, const std::string& sub) {
  if (sub != "up" && sub != "verify" && sub != "plan" && sub != "status")
    return fail(
        fmt::format("unknown migrate command '{}' (expected status, up, verify or plan)", sub), 2);
  auto db = sub == "up" ? open_database(cfg) : open_existing_database(cfg);
  trevor::migrator m(db);
  if (sub == "up") {
    const auto applied = m.up();
    for (const auto& a : applied)
      std::printf("applied %04d_%s (%lld ms)\n", a.id, a.name.c_str(),
                  static_cast<long long>(a.duration_ms));
    std::printf("schema is current (%zu migration(s) applied now)\n", applied.size());
    return 0;
  }
  if (sub == "verify") {
    // Nothing applied is nothing verified: most likely the wrong database.
    if (m.status().applied.empty())
      return fail(
          fmt::format("no migrations applied (DATABASE_URL {}): nothing to verify; is it "
                      "the right database? `trevord migrate up` applies them",
                      db.url().redacted));
    m.verify();
    std::printf("verified: every applied migration matches this build\n");
    return 0;
  }
  if (sub == "plan") {
    const auto sql = m.plan();
    if (sql.empty())
      std::printf("-- nothing to apply: the schema is current\n");
    else
      std::fputs(sql.c_str(), stdout);
    return 0;
  }
  // status
  const auto report = m.status();
  for (const auto& a : report.applied)
    std::printf("applied  %04d_%s  sha256 %s  at %s  (%lld ms)\n", a.id, a.name.c_str(),
                a.checksum.c_str(), a.applied_at.str().c_str(),
                static_cast<long long>(a.duration_ms));
  for (const auto& p : report.pending)
    std::printf("pending  %04d_%s  sha256 %s\n", p.id, p.name.c_str(), p.checksum.c_str());
  for (const auto& p : report.problems) std::printf("problem  %s\n", p.c_str());
  if (report.current()) {
    std::printf("schema is current\n");
    return 0;
  }
  return 1;
}

int serve(const trevord::config& cfg) {
  trevord::set_log_level(cfg.log_level);
  auto db = open_database(cfg);
  trevor::migrator m(db);
  if (cfg.auto_migrate) {
    const auto applied = m.up();
    for (const auto& a : applied)
      trevord::log(
          trevord::level::info, "migration applied",
          {{"migration", fmt::format("{:04}_{}", a.id, a.name)}, {"duration_ms", a.duration_ms}});
  } else {
    // A schema this build does not know (newer or drifted) is never served;
    // a merely out-of-date one is served with /readyz at 503.
    m.verify();
  }
  trevord::daemon daemon(cfg, db);
  trevord::log(trevord::level::info, "listening",
               {{"host", cfg.host},
                {"port", daemon.port()},
                {"env", std::string(trevor::to_string(cfg.env))},
                {"engine", std::string(trevor::to_string(db.kind()))},
                {"database", db.url().redacted},
                {"version", trevor::version}});
  daemon.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "serve" : args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(usage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("trevord %s\n", trevor::version);
    return 0;
  }
  try {
    if (command == "serve") {
      if (args.size() > 1) return fail("serve takes no arguments", 2);
      const auto cfg = trevord::load_serve_config(trevord::process_env);
      return serve(cfg);
    }
    if (command == "migrate") {
      if (args.size() != 2) return fail("usage: trevord migrate status|up|verify|plan", 2);
      return migrate_command(trevord::load_config(trevord::process_env), args[1]);
    }
    if (command == "db") {
      if (args.size() != 3 || args[1] != "grant-app-role")
        return fail("usage: trevord db grant-app-role ROLE", 2);
      auto cfg = trevord::load_config(trevord::process_env);
      auto db = open_existing_database(cfg);
      trevor::grant_application_role(db, args[2]);
      std::printf("granted the application privileges to %s\n", args[2].c_str());
      return 0;
    }
    if (command == "sdc") return trevord::sdc_command({args.begin() + 1, args.end()});
    return fail(fmt::format("unknown command '{}' (see trevord --help)", command), 2);
  } catch (const trevor::error& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
