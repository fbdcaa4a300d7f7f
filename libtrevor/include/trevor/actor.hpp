#pragma once
// Who asks the library to do something: a person (a user row, perhaps with
// the realm role tre_admin or auditor) or the automated reviewer (the agent).
//
// Both are built by the caller from an identity it has verified (trevord: a
// JWT from the TRE's identity provider). The library trusts what they say and
// checks everything else itself: whether the user is active, their project
// roles, and what the agent may do.

#include <optional>
#include <string>
#include <string_view>

#include "trevor/export.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

/// The agent's identity. The agent records agent reviews and may read every
/// request, its objects, their metadata and versions, and download object
/// content; nothing else. It has no user row: its events name it as
/// audit_actor().
class TREVOR_EXPORT agent_credential {
 public:
  /// `name` is the agent's account: a service account's username, or
  /// "trevor-agent" for the built-in agent. 1 to 128 printable ASCII
  /// characters without spaces; anything else is invalid_argument.
  explicit agent_credential(std::string_view name);

  /// The built-in agent's credential ("trevor-agent").
  static agent_credential builtin() { return agent_credential("trevor-agent"); }

  const std::string& name() const noexcept { return name_; }
  /// The actor column of the events the agent causes: "agent:<name>".
  std::string audit_actor() const { return "agent:" + name_; }

  friend bool operator==(const agent_credential&, const agent_credential&) = default;

 private:
  std::string name_;
};

/// Who asks. A person: the user's row id and whether the identity provider
/// grants the realm role tre_admin (or auditor). The agent: actor::of_agent().
struct TREVOR_EXPORT actor {
  uuid user_id;
  bool tre_admin = false;
  /// The realm role auditor: reads every request (its objects' metadata,
  /// reviews and audit trail), the admin read models and the audit trail's
  /// proofs; changes nothing and downloads no object content, whatever else
  /// the person holds (tre_admin and project roles grant an auditor nothing
  /// more).
  bool auditor = false;
  /// Set for the agent (then user_id is nil and tre_admin false).
  std::optional<agent_credential> agent;

  static actor of_agent(agent_credential credential) {
    actor a;
    a.agent = std::move(credential);
    return a;
  }
  bool is_agent() const noexcept { return agent.has_value(); }
  /// tre_admin that may act: neither an auditor (read-only) nor the agent.
  bool acting_admin() const noexcept { return tre_admin && !auditor && !is_agent(); }
  /// May read across every project (the admin read models, the audit
  /// trail's proofs and leaves): tre_admin or an auditor.
  bool oversees() const noexcept { return !is_agent() && (tre_admin || auditor); }
};

}  // namespace trevor
