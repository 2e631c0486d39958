#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "backstop/auth/token_cache.hpp"
#include "backstop/config/config.hpp"
#include "backstop/http/auth.hpp"

namespace backstop::store {
class DbPool;
}

namespace backstop::app {

// The server's Authenticator: bearer tokens resolved from memory, with
// PostgreSQL (store::TokenRepository) as the source of truth.
//
// A token in the cache (auth::TokenCache, keyed by SHA-256) is answered by
// Cached on the caller's thread with no database work, so telemetry from a
// known token is accepted while PostgreSQL is down. A miss is looked up once
// on the database pool, concurrent misses for one token share that lookup,
// and the answer is kept — "unknown" too, for the policy's negative_ttl.
// Lookup with TokenCheck::kConfirmed answers "unknown" from memory but
// confirms a known token with a lookup of its own. TokenCheck::kRecent
// answers from memory only what a lookup read from the database less than
// positive_ttl ago (a principal kept through an outage does not count) and
// otherwise confirms like kConfirmed: a route that goes to the database
// anyway never trusts a token longer than that.
//
// Revocation reaches every process within a second: `backstop token revoke`
// NOTIFYs kTokenRevokedChannel in its transaction, and a listener thread
// here, on a connection of its own, drops the whole cache when it arrives
// (typically within milliseconds). If that notice is lost (listener
// disconnected), positive_ttl (1 s) still bounds how long a cached
// principal is trusted; busy tokens are refreshed in the background before
// then. The listener reconnects by itself and drops the cache when it does.
//
// Threads: Cached runs on the caller's thread. Lookup's `done` runs on a
// database pool thread, or at once on the caller's thread when the answer
// is in memory or the pool refuses the job. The listener runs on its own
// thread between Start and Stop. Thread-safe.
//
// Lookups in flight call back into this object: the pool must be destroyed
// (which completes or fails its jobs) before it.
class CachedAuthenticator final : public http::Authenticator {
 public:
  CachedAuthenticator(store::DbPool& pool, const config::Config& config,
                      auth::TokenCachePolicy policy = {});
  ~CachedAuthenticator() override;
  CachedAuthenticator(const CachedAuthenticator&) = delete;
  CachedAuthenticator& operator=(const CachedAuthenticator&) = delete;

  // Starts the revocation listener and waits for its first attempt to
  // connect (bounded by database.connect_timeout), so a server that starts
  // serving is already listening when the database is up.
  void Start();
  void Stop();

  std::optional<Outcome> Cached(const std::string& token, http::TokenCheck check) override;
  void Lookup(const std::string& token, http::TokenCheck check, std::function<void(Outcome)> done) override;

  // Database lookups started so far (misses and background refreshes).
  std::uint64_t lookups() const { return lookups_.load(); }
  // Times a revocation notice (or a listener reconnect) dropped the cache.
  std::uint64_t invalidations() const { return invalidations_.load(); }
  // True while the revocation listener is connected.
  bool listening() const { return listening_.load(); }

 private:
  void StartLookup(const std::string& hash, std::uint64_t ticket);
  void Invalidate();
  void ListenLoop();

  store::DbPool& pool_;
  const std::string database_url_;
  const config::DatabaseConfig database_;
  const Millis lookup_timeout_;
  auth::TokenCache cache_;
  std::atomic<std::uint64_t> lookups_{0};
  std::atomic<std::uint64_t> invalidations_{0};
  std::atomic<bool> listening_{false};

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool first_attempt_done_ = false;
  std::thread listener_;
};

}  // namespace backstop::app
