// trevord: the airlock daemon, and the schema and audit commands operators run.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/sdc_check.hpp"
#include "daemon/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "trevor/audit_proof.hpp"
#include "trevor/audit_trail.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/database.hpp"
#include "trevor/database_url.hpp"
#include "trevor/error.hpp"
#include "trevor/migrate.hpp"
#include "trevor/version.hpp"
#include "trevor/workflow.hpp"

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
  storage check [--remove] [--verify]
                            compare TREVOR_STORAGE_DIR with the database: list
                            blobs no row refers to and interrupted uploads
                            older than an hour (--remove removes them; a file
                            a row refers to is never touched), rows whose file
                            is missing and, with --verify, whose bytes changed;
                            exit 0, or 1 when a file is missing or changed
  audit keygen [--name NAME] [--out FILE]
                            write a new audit signer key to FILE (mode 0600;
                            default trevord-audit.key, never overwritten) and
                            print its verifier key; NAME defaults to
                            TREVOR_AUDIT_ORIGIN (trevor.local/audit)
  audit public-key          print the verifier key of TREVOR_AUDIT_SIGNING_KEY
  audit verify --key KEY [--checkpoint FILE] [--grace SECONDS]
                            verify the audit trail of DATABASE_URL: every leaf
                            against its event, every checkpoint, the last
                            checkpoint of FILE (one kept outside the database,
                            e.g. TREVOR_AUDIT_CHECKPOINT_FILE), every event
                            older than SECONDS sealed (default: twice
                            TREVOR_AUDIT_SEAL_SECONDS plus 10); exit 0 with a
                            summary, 1 naming the first problem
  audit verify-proof --key KEY FILE
                            check an audit-proof.json (from a release package)
                            offline with the verifier key alone; exit 0 or 1
                            naming the problem
                            (KEY: the verifier key text, or @FILE holding it)
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

// ------------------------------------------------------------------ audit

/// The text of a file; not_found naming it when it cannot be read.
std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw trevor::error(trevor::errc::not_found, fmt::format("cannot read {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string without_trailing_space(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

/// --key KEY: the verifier key text, or @FILE holding it.
std::string verifier_key_argument(const std::string& value) {
  if (value.starts_with('@')) return without_trailing_space(read_text_file(value.substr(1)));
  return value;
}

/// The last signed note of a file of appended checkpoints (each note: its
/// text, a blank line, its signature lines; notes separated by a blank
/// line, as TREVOR_AUDIT_CHECKPOINT_FILE is written).
std::string last_checkpoint_of(const std::string& path) {
  const auto text = read_text_file(path);
  std::vector<std::string> chunks;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto blank = text.find("\n\n", start);
    const auto end = blank == std::string::npos ? text.size() : blank + 1;
    std::string chunk = text.substr(start, end - start);
    if (chunk.find_first_not_of("\n") != std::string::npos) chunks.push_back(std::move(chunk));
    start = blank == std::string::npos ? text.size() : blank + 2;
  }
  if (chunks.size() < 2)
    throw trevor::error(trevor::errc::invalid_argument,
                        fmt::format("{}: no signed checkpoint in it", path));
  const auto n = chunks.size() - chunks.size() % 2;
  return chunks[n - 2] + "\n" + chunks[n - 1];
}

/// Options of the form --name VALUE, and the remaining operands.
struct parsed_args {
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> operands;
  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [k, v] : options)
      if (k == name) return v;
    return std::nullopt;
  }
};

std::optional<parsed_args> parse_args(const std::vector<std::string>& args, std::size_t from,
                                      std::initializer_list<std::string_view> known) {
  parsed_args out;
  for (std::size_t i = from; i < args.size(); ++i) {
    if (!args[i].starts_with("--")) {
      out.operands.push_back(args[i]);
      continue;
    }
    if (std::find(known.begin(), known.end(), args[i]) == known.end() || i + 1 >= args.size())
      return std::nullopt;
    out.options.emplace_back(args[i], args[i + 1]);
    ++i;
  }
  return out;
}

/// trevord storage check [--remove] [--verify]: the blob store against the
/// database (trevor::sweep_service::check_storage). Exit 0 when every row's
/// file is there (and, with --verify, intact), 1 otherwise.
int storage_command(const std::vector<std::string>& args) {
  bool remove = false, verify = false;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--remove")
      remove = true;
    else if (args[i] == "--verify")
      verify = true;
    else
      return fail("usage: trevord storage check [--remove] [--verify]", 2);
  }
  if (args.size() < 2 || args[1] != "check")
    return fail("usage: trevord storage check [--remove] [--verify]", 2);
  const auto cfg = trevord::load_config(trevord::process_env);
  auto db = open_existing_database(cfg);
  trevor::filesystem_blob_store blobs(cfg.storage_dir);
  trevor::workflow flow(db, blobs);
  const auto r = flow.sweeps.check_storage(remove, verify);
  for (const auto& k : r.orphans)
    std::printf("%s %s (no row refers to it)\n", remove ? "removed" : "orphan", k.c_str());
  for (const auto& k : r.temporaries)
    std::printf("%s %s (an interrupted upload)\n", remove ? "removed" : "temporary", k.c_str());
  for (const auto& id : r.missing_objects)
    std::printf("missing: the file of object %s\n", id.str().c_str());
  for (const auto& k : r.missing_packages) std::printf("missing: release package %s\n", k.c_str());
  for (const auto& id : r.corrupted_objects)
    std::printf("changed: the bytes of object %s no longer match its SHA-256\n", id.str().c_str());
  std::printf(
      "%zu files; %zu orphans and %zu temporary files (%lld bytes)%s; %zu missing, %zu "
      "changed\n",
      r.files, r.orphans.size(), r.temporaries.size(), static_cast<long long>(r.orphan_bytes),
      remove ? " removed" : "", r.missing_objects.size() + r.missing_packages.size(),
      r.corrupted_objects.size());
  return r.ok() ? 0 : 1;
}

int audit_command(const std::vector<std::string>& args) {
  const std::string sub = args.size() > 1 ? args[1] : "";
  if (sub == "keygen") {
    const auto a = parse_args(args, 2, {"--name", "--out"});
    if (!a || !a->operands.empty())
      return fail("usage: trevord audit keygen [--name NAME] [--out FILE]", 2);
    const auto name = a->get("--name").value_or(
        trevord::process_env("TREVOR_AUDIT_ORIGIN").value_or("trevor.local/audit"));
    const auto out = a->get("--out").value_or("trevord-audit.key");
    const auto keys = trevor::generate_audit_key(name);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return fail(fmt::format("{}: {}{}", out, std::strerror(errno),
                              errno == EEXIST ? " (a key file is never overwritten)" : ""));
    const std::string text = keys.signer_key + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!written) return fail(fmt::format("{}: cannot write the key", out));
    std::fprintf(stderr,
                 "trevord: signer key written to %s (keep it secret; "
                 "TREVOR_AUDIT_SIGNING_KEY=%s)\n",
                 out.c_str(), out.c_str());
    std::printf("%s\n", keys.verifier_key.c_str());
    return 0;
  }
  if (sub == "public-key") {
    if (args.size() != 2) return fail("usage: trevord audit public-key", 2);
    const auto file = trevord::process_env("TREVOR_AUDIT_SIGNING_KEY");
    if (!file || file->empty())
      return fail("TREVOR_AUDIT_SIGNING_KEY: not set; set it to the signer key's file");
    std::printf("%s\n",
                trevor::audit_verifier_key(without_trailing_space(read_text_file(*file))).c_str());
    return 0;
  }
  if (sub == "verify") {
    const auto a = parse_args(args, 2, {"--key", "--checkpoint", "--grace"});
    if (!a || !a->operands.empty() || !a->get("--key"))
      return fail("usage: trevord audit verify --key KEY [--checkpoint FILE] [--grace SECONDS]", 2);
    const auto key = verifier_key_argument(*a->get("--key"));
    const auto cfg = trevord::load_config(trevord::process_env);
    std::chrono::seconds grace(2 * cfg.audit_seal_seconds + 10);
    if (const auto g = a->get("--grace")) {
      if (g->empty() || g->size() > 9 || g->find_first_not_of("0123456789") != std::string::npos)
        return fail(fmt::format("--grace: '{}' is not a whole number of seconds", *g), 2);
      grace = std::chrono::seconds(std::stol(*g));
    }
    std::optional<std::string> trusted;
    if (const auto f = a->get("--checkpoint")) trusted = last_checkpoint_of(*f);
    auto db = open_existing_database(cfg);
    trevor::audit_trail_options options;
    options.origin = cfg.audit_origin;
    const trevor::audit_trail trail(db, options);
    const auto result = trail.verify(
        key, trusted ? std::optional<std::string_view>(*trusted) : std::nullopt, grace);
    if (!result.ok()) return fail(result.summary());
    std::printf("%s\n", result.summary().c_str());
    return 0;
  }
  if (sub == "verify-proof") {
    const auto a = parse_args(args, 2, {"--key"});
    if (!a || a->operands.size() != 1 || !a->get("--key"))
      return fail("usage: trevord audit verify-proof --key KEY FILE", 2);
    const auto key = verifier_key_argument(*a->get("--key"));
    const auto& file = a->operands[0];
    try {
      const auto n = trevor::verify_request_audit_proof(read_text_file(file), key);
      std::printf("verified: %s: %zu event(s) in the signed log\n", file.c_str(), n);
      return 0;
    } catch (const trevor::error& e) {
      return fail(fmt::format("{}: {}", file, e.what()));
    }
  }
  return fail("usage: trevord audit keygen|public-key|verify|verify-proof (see trevord --help)", 2);
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
    if (command == "audit") return audit_command(args);
    if (command == "storage") return storage_command(args);
    if (command == "sdc") return trevord::sdc_command({args.begin() + 1, args.end()});
    return fail(fmt::format("unknown command '{}' (see trevord --help)", command), 2);
  } catch (const trevor::error& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
