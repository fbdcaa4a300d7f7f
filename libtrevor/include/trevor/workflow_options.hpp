#pragma once
// What the airlock's services are configured with (trevord reads it from the
// environment), and the limits on the text they accept.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "trevor/policy.hpp"
#include "trevor/sdc.hpp"

namespace trevor {

class audit_trail;

struct workflow_options {
  /// Distinct reviewers that close a round, the agent counting as one
  /// (TREVOR_REQUIRED_REVIEWS). At least 2: the two-person rule.
  int required_reviews = default_required_reviews;
  /// TREVOR_AGENT_REVIEW=external: submissions wait for the agent's review.
  bool agent_review = false;
  /// TREVOR_MAX_UPLOAD_MB.
  std::int64_t max_upload_bytes = std::int64_t{500} * 1024 * 1024;
  /// TREVOR_STUCK_HOURS: how long a request may wait in SUBMITTED,
  /// AGENT_REVIEW or HUMAN_REVIEW before the sweep reports it.
  std::chrono::hours stuck_after{72};
  /// TREVOR_INDEPENDENT_REVIEW: until a checker has reviewed the current
  /// round (or it closed), the other humans' reviews of that round are
  /// hidden from them in every read (libtrevor/README.md, "Independent
  /// review"). tre_admin and auditors always see everything.
  bool independent_review = true;

  // Release, delivery and their links (libtrevor/README.md, "Release and delivery").
  /// TREVOR_LINK_SECRET: the HMAC key of download and upload links, shared
  /// by every daemon (at least 32 bytes). Empty: a random key of this
  /// workflow object, so links die with it (development and tests).
  std::string link_secret;
  /// TREVOR_PUBLIC_URL: what links start with (scheme, host, port, any
  /// path prefix, no trailing '/'). Empty: links are paths ("/requests/…").
  std::string public_url;
  /// How long links stay valid: a release's package (TREVOR_RELEASE_LINK_HOURS,
  /// 7 days), a delivery's objects (TREVOR_DELIVERY_LINK_HOURS, 24 h), an
  /// ingress slot's upload (TREVOR_UPLOAD_LINK_HOURS, 24 h).
  std::chrono::seconds release_link_ttl = std::chrono::hours(24 * 7);
  std::chrono::seconds delivery_link_ttl = std::chrono::hours(24);
  std::chrono::seconds upload_link_ttl = std::chrono::hours(24);
  /// TREVOR_LINK_WARNING_HOURS: the expiry sweep tells a release's owner
  /// this long before the link expires (once per release).
  std::chrono::seconds link_warning = std::chrono::hours(24);
  /// A release still RELEASING after this long was interrupted (its daemon
  /// stopped mid-way); the sweep returns it to APPROVED
  /// (TREVOR_RELEASE_TIMEOUT_MINUTES).
  std::chrono::seconds release_timeout = std::chrono::minutes(60);
  /// While a process builds a release package it moves the release's
  /// heartbeat (release_heartbeats) forward this often...
  std::chrono::milliseconds release_heartbeat_interval = std::chrono::seconds(10);
  /// ...and the sweep returns a RELEASING request whose heartbeat is older
  /// than this to APPROVED, whatever host the holder runs on
  /// (TREVOR_RELEASE_HEARTBEAT_SECONDS).
  std::chrono::milliseconds release_heartbeat_timeout = std::chrono::seconds(60);
  /// An agent review still in AGENT_REVIEW after this long was interrupted
  /// (its worker stopped mid-way); the sweep returns it to SUBMITTED as a
  /// failed attempt (TREVOR_AGENT_TIMEOUT_SECONDS).
  std::chrono::seconds agent_timeout = std::chrono::seconds(300);
  /// Where a release's package is assembled before it goes to the blob
  /// store (it needs room for the package). Empty: the system's temporary
  /// directory.
  std::filesystem::path scratch_dir;
  /// TREVOR_RELEASE_LICENSE: the licence a release package states (its root
  /// Dataset's `license`). An http:// or https:// URL names the licence
  /// itself; any other text describes the terms; empty: "not licensed for
  /// reuse".
  std::string release_license;
  /// The TRE's SDC policy (TREVOR_SDC_POLICY; the defaults when not set):
  /// what the built-in agent checks, and, as the project's effective policy,
  /// sdc-policy.json in every release package.
  sdc::policy_config sdc_policy;
  /// The verifiable audit trail (not owned; it must outlive the workflow).
  /// When it signs checkpoints, release() seals the request's events and
  /// puts their proof into the package as audit-proof.json.
  audit_trail* audit = nullptr;
};

/// Limits on request and object text in characters (Unicode code points, as
/// the database's length() counts them), checked before any write; text
/// must be valid UTF-8.
inline constexpr std::size_t max_title_length = 300;
inline constexpr std::size_t max_description_length = 20'000;
inline constexpr std::size_t max_filename_length = 255;
inline constexpr std::size_t max_statbarn_length = 64;
inline constexpr std::size_t max_metadata_text = 20'000;
inline constexpr std::size_t max_tags_json = 20'000;
/// The reason given for a withdrawal or a revocation.
inline constexpr std::size_t max_reason_length = 2'000;

}  // namespace trevor
