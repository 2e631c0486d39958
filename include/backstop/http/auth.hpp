#pragma once

#include <functional>
#include <optional>
#include <string>

#include "backstop/common/result.hpp"
#include "backstop/common/role.hpp"

namespace backstop::http {

// How current the caller's principal must be on an authenticated route.
enum class TokenCheck {
  // Read from the source of truth after the request arrived, so a
  // revocation counts from its commit on. For routes that go to the
  // database anyway: it costs no availability, only a round trip.
  kConfirmed,
  // May come from memory when the database said so less than a second ago,
  // so at most a second behind a revocation in every case; otherwise
  // confirmed. For routes that go to the database anyway but are called at
  // volume by pipelines (deployments, traffic steps, CDEvents): no round
  // trip for authentication per request.
  kRecent,
  // May come from memory, at most a second behind a revocation (DESIGN
  // "Roles and authentication") while the database answers; while it cannot
  // be reached, a known token's last answer stands. For routes that need no
  // database at all (telemetry): they then keep working through an outage.
  kCached,
};

// Resolves a bearer token to its principal. The answer is a value: a
// principal, nullopt for an unknown or revoked token (401), or an error
// (503 when the database cannot tell).
//
// Two steps, so the router knows on which thread the answer arrives:
// Cached answers from memory at once on the calling thread; Lookup may ask
// the database and call `done` later, on a thread of the implementation's
// choosing (the app's runs it on a database pool thread).
// Implementations are thread-safe; neither call throws.
class Authenticator {
 public:
  using Outcome = Result<std::optional<Principal>>;

  virtual ~Authenticator() = default;

  // The answer from memory, good enough for `check` (kRecent or kCached),
  // or nullopt when only Lookup can tell.
  virtual std::optional<Outcome> Cached(const std::string& token, TokenCheck check) = 0;

  // An answer as current as `check` asks for; `done` runs exactly once, on
  // any thread (possibly this one, before Lookup returns).
  virtual void Lookup(const std::string& token, TokenCheck check, std::function<void(Outcome)> done) = 0;
};

}  // namespace backstop::http
