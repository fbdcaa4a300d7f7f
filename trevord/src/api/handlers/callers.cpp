// Who is calling, as each kind of route needs it: a person, any reader (the
// agent included), or the agent alone.
#include <fmt/format.h>

#include "api/handlers/handlers.hpp"

namespace trevord::handlers {

const trevor::actor& person(const call& c) {
  if (c.who.agent())
    throw http_error(http::status::forbidden,
                     "the agent's service account may read requests, their objects and "
                     "metadata, download object content and record agent reviews; nothing else");
  return c.who.actor;
}

const trevor::actor& reader(const call& c) {
  return c.who.actor;
}

const trevor::agent_credential& agent(const call& c) {
  if (!c.who.agent())
    throw http_error(http::status::forbidden,
                     fmt::format("only the agent's service account (realm role {}) records agent "
                                 "reviews",
                                 agent_role));
  return *c.who.actor.agent;
}

}  // namespace trevord::handlers
