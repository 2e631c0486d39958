#include "backstop/app/cached_authenticator.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/token_repository.hpp"

namespace backstop::app {

namespace {

// How often the listener wakes to check for Stop while no notice arrives.
constexpr long kListenPollMicros = 200000;
// Pause between attempts to reconnect the listener.
constexpr auto kListenRetry = std::chrono::milliseconds(500);

auth::SteadyTime Now() { return std::chrono::steady_clock::now(); }

// How a memory answer must have been established for a route's check
// (kConfirmed routes never take one).
auth::Freshness FreshnessFor(http::TokenCheck check) {
  return check == http::TokenCheck::kCached ? auth::Freshness::kThroughOutage : auth::Freshness::kRecentRead;
}

// Calls `on_notice` for every NOTIFY on the revocation channel.
class RevocationReceiver final : public pqxx::notification_receiver {
 public:
  RevocationReceiver(pqxx::connection_base& conn, std::function<void()> on_notice)
      : notification_receiver(conn, store::kTokenRevokedChannel), on_notice_(std::move(on_notice)) {}
  void operator()(const std::string&, int) override { on_notice_(); }

 private:
  std::function<void()> on_notice_;
};

}  // namespace

CachedAuthenticator::CachedAuthenticator(store::DbPool& pool, const config::Config& config,
                                         auth::TokenCachePolicy policy)
    : pool_(pool),
      database_url_(config.database_url),
      database_(config.database),
      lookup_timeout_(config.http.request_timeout),
      cache_(policy) {}

CachedAuthenticator::~CachedAuthenticator() { Stop(); }

void CachedAuthenticator::Start() {
  std::unique_lock lock(mutex_);
  if (listener_.joinable()) return;
  stopping_ = false;
  first_attempt_done_ = false;
  listener_ = std::thread([this] { ListenLoop(); });
  cv_.wait(lock, [this] { return first_attempt_done_ || stopping_; });
}

void CachedAuthenticator::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (listener_.joinable()) listener_.join();
}

std::optional<http::Authenticator::Outcome> CachedAuthenticator::Cached(const std::string& token,
                                                                        http::TokenCheck check) {
  if (check == http::TokenCheck::kConfirmed) return std::nullopt;
  const std::string hash = Sha256Hex(token);
  auto hit = cache_.Find(hash, Now(), FreshnessFor(check));
  if (!hit) return std::nullopt;
  if (hit->refresh) StartLookup(hash, *hit->refresh);
  return std::move(hit->answer);
}

void CachedAuthenticator::Lookup(const std::string& token, http::TokenCheck check,
                                 std::function<void(Outcome)> done) {
  const std::string hash = Sha256Hex(token);
  const auth::SteadyTime now = Now();
  if (check != http::TokenCheck::kConfirmed) {
    // Cached may have missed just before another caller's lookup finished.
    if (auto hit = cache_.Find(hash, now, FreshnessFor(check))) {
      if (hit->refresh) StartLookup(hash, *hit->refresh);
      done(std::move(hit->answer));
      return;
    }
  }
  if (check != http::TokenCheck::kCached) {
    // Confirmed: "unknown" stays true (tokens are random and never
    // reissued), so it may come from memory; a known token is read again,
    // by a lookup of its own that never answers from an outage.
    if (cache_.RemembersUnknown(hash, now)) return done(std::optional<Principal>{});
    StartLookup(hash, cache_.Confirm(hash, std::move(done), now));
    return;
  }
  // kCached: misses for one token share one lookup.
  if (const auto ticket = cache_.Join(hash, std::move(done), now)) StartLookup(hash, *ticket);
}

void CachedAuthenticator::StartLookup(const std::string& hash, std::uint64_t ticket) {
  ++lookups_;
  pool_.Submit<std::optional<Principal>>(
      [hash](pqxx::connection& conn) -> Result<std::optional<Principal>> {
        // One statement, one round trip: no BEGIN/COMMIT around it.
        pqxx::nontransaction tx(conn);
        return store::TokenRepository::FindByHash(tx, hash);
      },
      [this, ticket](Outcome result) {
        auto completed = cache_.Complete(ticket, std::move(result), Now());
        // One waiter failing must not leave the others unanswered.
        for (auto& waiter : completed.waiters) {
          try {
            waiter(completed.answer);
          } catch (const std::exception& e) {
            spdlog::error("token lookup: answering a waiter failed: {}", e.what());
          }
        }
      },
      lookup_timeout_);
}

void CachedAuthenticator::Invalidate() {
  cache_.Clear();
  ++invalidations_;
}

void CachedAuthenticator::ListenLoop() {
  const auto first_attempt_over = [this] {
    {
      std::lock_guard lock(mutex_);
      first_attempt_done_ = true;
    }
    cv_.notify_all();
  };
  bool warned = false;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    try {
      auto conn = store::DbPool::Connect(database_url_, database_);
      RevocationReceiver receiver(*conn, [this] { Invalidate(); });
      // LISTEN is in effect from here; a revocation committed while nobody
      // listened may still be cached, so start over.
      Invalidate();
      listening_ = true;
      warned = false;
      spdlog::info("listening for token revocations on {}", store::kTokenRevokedChannel);
      first_attempt_over();
      while (true) {
        {
          std::lock_guard lock(mutex_);
          if (stopping_) break;
        }
        conn->await_notification(0, kListenPollMicros);
      }
      listening_ = false;
      return;
    } catch (const std::exception& e) {
      listening_ = false;
      if (!warned) {
        spdlog::warn("token revocation listener: {}; cached principals now expire after their TTL; retrying",
                     e.what());
        warned = true;
      }
      first_attempt_over();
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, kListenRetry, [this] { return stopping_; });
    }
  }
}

}  // namespace backstop::app
