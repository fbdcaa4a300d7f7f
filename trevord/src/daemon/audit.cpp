#include "daemon/audit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "trevor/audit_proof.hpp"
#include "trevor/database_url.hpp"
#include "trevor/error.hpp"

namespace trevord {

namespace {

/// A new signer key named after the log (or "trevor-audit" when the origin
/// is not a valid key name).
std::string new_signer_key(const config& cfg) {
  try {
    return trevor::generate_audit_key(cfg.audit_origin).signer_key;
  } catch (const trevor::error&) {
    return trevor::generate_audit_key("trevor-audit").signer_key;
  }
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

/// The development key kept in `path`: read when it exists, otherwise
/// generated and written there (created 0600, never overwritten).
std::string development_key_file(const config& cfg, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::ostringstream text;
    text << in.rdbuf();
    auto key = trimmed(text.str());
    try {
      (void)trevor::audit_verifier_key(key);
    } catch (const trevor::error& e) {
      throw trevor::error(trevor::errc::invalid_argument,
                          fmt::format("{}: not an audit signer key ({}); remove it to have a new "
                                      "one generated",
                                      path, e.what()));
    }
    return key;
  }
  const auto key = new_signer_key(cfg);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return development_key_file(cfg, path);  // another daemon won
    throw trevor::error(
        trevor::errc::unavailable,
        fmt::format("{}: cannot create the development audit key: {}", path, std::strerror(errno)));
  }
  const std::string text = key + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written)
    throw trevor::error(trevor::errc::unavailable,
                        fmt::format("{}: cannot write the development audit key", path));
  log(level::warning, "audit signing key generated",
      {{"file", path},
       {"verifier_key", trevor::audit_verifier_key(key)},
       {"why", "development: TREVOR_AUDIT_SIGNING_KEY is not set"}});
  return key;
}

}  // namespace

std::optional<std::string> audit_signer_key_of(const config& cfg) {
  if (!cfg.audit_signer_key.empty()) return cfg.audit_signer_key;
  if (!trevor::is_dev_like(cfg.env)) return std::nullopt;
  const auto url = trevor::parse_database_url(cfg.database_url);
  if (url.kind == trevor::engine::sqlite && !url.in_memory())
    return development_key_file(cfg, url.sqlite_path + ".audit-key");
  auto key = new_signer_key(cfg);
  log(level::warning, "audit signing key generated in memory",
      {{"verifier_key", trevor::audit_verifier_key(key)},
       {"why", "development: TREVOR_AUDIT_SIGNING_KEY is not set"}});
  return key;
}

trevor::audit_trail_options audit_options_of(const config& cfg) {
  trevor::audit_trail_options o;
  o.origin = cfg.audit_origin;
  o.signer_key = audit_signer_key_of(cfg);
  if (!cfg.audit_checkpoint_file.empty()) o.checkpoint_file = cfg.audit_checkpoint_file;
  return o;
}

void seal_audit_trail(trevor::audit_trail& trail, metrics& m) {
  try {
    const auto r = trail.seal();
    m.audit.tree_size = r.tree_size;
    if (r.checkpoint) {
      ++m.audit.checkpoints_signed;
      log(level::info, "audit.checkpoint",
          {{"tree_size", r.tree_size}, {"sealed", r.sealed}, {"checkpoint", *r.checkpoint}});
    }
  } catch (const trevor::error& e) {
    ++m.audit.seal_failures;
    if (e.code() == trevor::errc::conflict)
      log(level::error, "audit seal refused", {{"error", e.what()}});
    else
      log(level::warning, "audit seal failed", {{"error", e.what()}});
  } catch (const std::exception& e) {
    ++m.audit.seal_failures;
    log(level::warning, "audit seal failed", {{"error", e.what()}});
  }
}

}  // namespace trevord
