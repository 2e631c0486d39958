#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/common/result.hpp"
#include "backstop/common/role.hpp"

namespace backstop::auth {

using SteadyTime = std::chrono::steady_clock::time_point;

// A principal, nullopt for an unknown or revoked token, or why nobody knows.
using Outcome = Result<std::optional<Principal>>;
using Waiter = std::function<void(Outcome)>;

// How an answer from memory may have been established.
enum class Freshness {
  // By a lookup that read the database less than the policy's TTL ago.
  kRecentRead,
  // The same, or kept through a database outage (see the rules below).
  kThroughOutage,
};

// How long answers stay in memory.
struct TokenCachePolicy {
  // A known token is answered from memory for this long after the lookup
  // that found it began. This bounds how long a revoked token keeps working
  // on a process that missed the revocation notice.
  Millis positive_ttl{1000};
  // A known token answered from memory at least this long after its lookup
  // also gets a background lookup, so a busy token is renewed before it
  // expires and its requests never wait for the database.
  Millis refresh_after{500};
  // An unknown token is answered "unknown" from memory for this long, so a
  // flood of bad tokens costs one lookup per token and interval.
  Millis negative_ttl{5000};
  // Beyond this many entries, expired ones are swept; if the cache is still
  // full, a new answer is delivered but not kept.
  std::size_t max_entries = 10000;
};

// Bearer-token answers in memory, keyed by the token's SHA-256 (the token
// itself is never kept), plus the bookkeeping of lookups in flight. Pure:
// the caller passes the time and runs the lookups; this class only decides.
//
// Rules:
// - Find answers a fresh entry (positive_ttl / negative_ttl) and asks for at
//   most one background refresh per token at a time (refresh_after). With
//   Freshness::kRecentRead, a principal kept through an outage (below) is
//   not fresh: only a successful read within positive_ttl counts.
// - Join coalesces misses: the first caller for a token gets a ticket and
//   must start the lookup; later callers wait on it. Complete hands back
//   every waiter with the one answer.
// - Confirm starts a lookup of its own for one waiter, never shared with an
//   earlier one, so its answer reflects every revocation committed before
//   the call. Its result is kept like any other.
// - A lookup that began before a Clear delivers its answer to its waiters
//   but is not kept, and a request arriving after the Clear does not join
//   it: once Clear returns, no answer read before it is served again.
// - A shared lookup that fails with `unavailable` (the database cannot be
//   reached) answers with the last known principal of the token, if any,
//   and keeps it for another positive_ttl: known tokens keep working through
//   a database outage (a revocation cannot reach this process then either).
//   An unknown token gets the error (503), never a cached 401 guess; a
//   Confirm lookup always gets the error.
//
// Thread-safe: one mutex guards everything; it is never held while a
// waiter runs (Complete returns the waiters for the caller to run).
class TokenCache {
 public:
  explicit TokenCache(TokenCachePolicy policy = {});

  struct Hit {
    Outcome answer;
    // Set when the caller must start a background lookup and Complete it
    // with this ticket.
    std::optional<std::uint64_t> refresh;
  };
  // The fresh answer for `hash` at `now`, or nullopt.
  std::optional<Hit> Find(const std::string& hash, SteadyTime now,
                          Freshness freshness = Freshness::kThroughOutage);

  // True when `hash` is known, at `now`, to belong to no live token.
  bool RemembersUnknown(const std::string& hash, SteadyTime now) const;

  // Registers `waiter` for the answer. Returns a ticket when the caller must
  // start the lookup (none was in flight), nullopt when it joined one.
  std::optional<std::uint64_t> Join(const std::string& hash, Waiter waiter, SteadyTime now);

  // Registers `waiter` with a lookup of its own; the caller must start it.
  std::uint64_t Confirm(const std::string& hash, Waiter waiter, SteadyTime now);

  struct Completed {
    Outcome answer;
    std::vector<Waiter> waiters;  // to be called with `answer`, outside any lock
  };
  // Records the result of the lookup of `ticket`, read from the source of truth.
  Completed Complete(std::uint64_t ticket, Outcome result, SteadyTime now);

  // Forgets every answer (a token was revoked); see the rules above.
  void Clear();

  std::size_t size() const;

 private:
  struct Entry {
    std::optional<Principal> principal;
    SteadyTime checked_at;  // when the lookup that produced it began, or the outage that kept it
    SteadyTime read_at;     // when the last lookup that read the database began
  };
  struct Pending {
    std::string hash;
    std::uint64_t generation = 0;  // generation_ when the lookup began
    SteadyTime started_at;
    bool shared = true;  // false for Confirm: no joiners, no stale answer
    std::vector<Waiter> waiters;
  };

  // Where an entry's age counts from, for `freshness`.
  static SteadyTime Since(const Entry& e, Freshness freshness);
  bool Fresh(const Entry& e, SteadyTime now, Freshness freshness = Freshness::kThroughOutage) const;
  std::uint64_t Begin(const std::string& hash, bool shared, SteadyTime now);  // under mutex_
  void Keep(const std::string& hash, Entry entry, SteadyTime now);  // under mutex_

  const TokenCachePolicy policy_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::uint64_t, Pending> pending_;       // by ticket
  std::unordered_map<std::string, std::uint64_t> joinable_;  // hash → ticket a miss may join
  std::uint64_t next_ticket_ = 1;
  std::uint64_t generation_ = 0;  // bumped by Clear
};

}  // namespace backstop::auth
