#pragma once
// The domain's entities as plain values.
//
// Field names follow the table columns. Timestamps are set by the database and
// are only read here. JSON columns (tags, checker_feedback, findings, audit
// payload) are carried as JSON text: the library never queries inside them
// (a human review's findings are also read into typed object_decisions).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trevor/enums.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

struct user {
  uuid id;
  std::optional<std::string> subject;  // the identity provider's `sub`
  std::string username;
  std::string email;
  std::string given_name;
  std::string family_name;
  std::string affiliation;
  bool active = true;
  timestamp created_at;
  timestamp updated_at;
};

struct project {
  uuid id;  // the platform's project id
  std::string name;
  std::string display_name;
  project_status status = project_status::active;
  timestamp created_at;
  timestamp updated_at;
};

struct membership {
  uuid id;
  uuid user_id;
  uuid project_id;
  membership_role role = membership_role::researcher;
  std::optional<uuid> assigned_by;
  timestamp created_at;
  timestamp updated_at;
};

struct airlock_request {
  uuid id;
  uuid project_id;
  trevor::direction direction = direction::egress;
  request_status status = request_status::draft;
  std::string title;
  std::string description;
  uuid owner_id;
  std::int64_t review_round = 1;
  std::optional<timestamp> submitted_at;
  std::optional<timestamp> closed_at;
  timestamp created_at;
  timestamp updated_at;
};

struct output_object {
  uuid id;
  uuid request_id;
  uuid logical_object_id;
  std::int64_t version = 1;
  std::optional<uuid> replaces_id;
  std::string filename;
  trevor::output_type output_type = output_type::other;
  std::string statbarn;
  std::string storage_key;
  std::string checksum_sha256;  // empty for an ingress slot not yet uploaded
  std::int64_t size_bytes = 0;
  object_state state = object_state::pending;
  /// For the checkers only: never released, packaged or delivered, and not
  /// checked by the built-in agent (fixed for the logical object).
  bool supporting = false;
  uuid uploaded_by;
  timestamp created_at;
};

struct object_metadata {
  uuid logical_object_id;
  uuid request_id;
  std::string title;
  std::string description;
  std::string researcher_justification;
  std::string suppression_notes;
  std::string tags_json = "{}";              // JSON object
  std::string checker_feedback_json = "[]";  // JSON array, append-only
  std::int64_t lock_version = 1;
  timestamp created_at;
  timestamp updated_at;
};

/// One object's decision in a human review.
struct object_decision {
  uuid object_id;
  review_decision decision = review_decision::approved;
  std::string feedback;
};

struct review {
  uuid id;
  uuid request_id;
  std::int64_t round = 1;
  trevor::reviewer_type reviewer_type = reviewer_type::human;
  std::optional<uuid> reviewer_id;  // empty for the agent
  review_decision decision = review_decision::approved;
  bool accepted_agent_findings = false;
  std::string summary;
  std::string findings_json = "[]";
  timestamp created_at;
  /// A human review's per-object decisions: its findings as the store read
  /// them (empty for the agent, whose findings are its own JSON).
  std::vector<object_decision> object_decisions;
};

struct notification {
  uuid id;
  uuid user_id;
  std::string event_type;
  std::string title;
  std::string body;
  std::optional<uuid> request_id;
  bool read = false;
  timestamp created_at;
  timestamp updated_at;
};

struct release_record {
  uuid id;
  uuid request_id;
  std::string crate_storage_key;
  std::string crate_checksum_sha256;
  /// The current link: workflow_options::public_url, the download path and
  /// `?token=` followed by link_token.
  std::string download_url;
  /// The current link's token, for release_service::download(): the one
  /// credential of the link, so an embedding program that serves downloads
  /// itself needs nothing else. Filled by every read of the record, from the
  /// stored link (release(), renew_link() and get() alike);
  /// the token is not kept anywhere else.
  std::string link_token;
  timestamp url_expires_at;
  std::optional<timestamp> expiry_warned_at;
  uuid released_by;
  timestamp created_at;
  timestamp updated_at;
};

struct delivery_record {
  uuid id;
  uuid request_id;
  uuid delivered_by;
  std::int64_t object_count = 0;
  timestamp url_expires_at;
  timestamp created_at;
};

}  // namespace trevor
