#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/app/cached_authenticator.hpp"
#include "backstop/common/sha256.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/token_repository.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using Outcome = http::Authenticator::Outcome;

// Collects the answers of asynchronous lookups.
class Answers {
 public:
  std::function<void(Outcome)> Waiter() {
    return [this](Outcome o) {
      std::lock_guard lock(mutex_);
      answers_.push_back(std::move(o));
      cv_.notify_all();
    };
  }
  // Waits (bounded) for `n` answers and returns them.
  std::vector<Outcome> Await(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return answers_.size() >= n; });
    return answers_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Outcome> answers_;
};

std::string CreateToken(const TestDatabase& db, const std::string& name, Role role) {
  auto conn = db.Connect();
  pqxx::work tx(*conn);
  auto token = store::TokenRepository::Create(tx, name, role, "test");
  if (!token) throw std::runtime_error(token.error().message);
  tx.commit();
  return *token;
}

void RevokeToken(const TestDatabase& db, const std::string& name) {
  auto conn = db.Connect();
  pqxx::work tx(*conn);
  ASSERT_TRUE(store::TokenRepository::Revoke(tx, name, "test").ok());
  tx.commit();
}

// A pool and an authenticator over it. The pool goes first: lookups in
// flight call back into the authenticator.
struct AuthUnderTest {
  explicit AuthUnderTest(const TestDatabase& db, auth::TokenCachePolicy policy = {})
      : config(TestConfig(db.url())),
        pool(std::make_unique<store::DbPool>(db.url(), config.database)),
        auth(*pool, config, policy) {}
  ~AuthUnderTest() {
    auth.Stop();
    pool.reset();
  }
  config::Config config;
  std::unique_ptr<store::DbPool> pool;
  app::CachedAuthenticator auth;
};

bool IsPrincipal(const std::optional<Outcome>& o, const std::string& name) {
  return o && o->ok() && o->value().has_value() && o->value()->name == name;
}

TEST(CachedAuthenticatorTest, UnknownTokenIsLookedUpOnceThenAnsweredFromMemory) {
  TestDatabase db;
  AuthUnderTest under_test(db);
  auto& auth = under_test.auth;
  const std::string token = "bst_" + RandomHex(32);

  // A burst of misses for one token shares one database lookup.
  constexpr int kBurst = 20;
  Answers answers;
  for (int i = 0; i < kBurst; ++i) auth.Lookup(token, http::TokenCheck::kCached, answers.Waiter());
  const auto got = answers.Await(kBurst);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kBurst));
  for (const auto& o : got) {
    ASSERT_TRUE(o.ok()) << o.error().message;
    EXPECT_FALSE(o.value().has_value());
  }
  EXPECT_EQ(auth.lookups(), 1u);

  // Then "unknown" comes from memory, on this thread.
  for (int i = 0; i < 100; ++i) {
    const auto cached = auth.Cached(token, http::TokenCheck::kCached);
    ASSERT_TRUE(cached.has_value());
    ASSERT_TRUE(cached->ok());
    EXPECT_FALSE(cached->value().has_value());
  }
  EXPECT_EQ(auth.lookups(), 1u);

  // Confirmed lookups trust a remembered "unknown" too.
  Answers confirmed;
  auth.Lookup(token, http::TokenCheck::kConfirmed, confirmed.Waiter());
  const auto again = confirmed.Await(1);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(again[0].ok());
  EXPECT_FALSE(again[0].value().has_value());
  EXPECT_EQ(auth.lookups(), 1u);
}

TEST(CachedAuthenticatorTest, KnownTokenIsAnsweredFromMemoryAfterOneLookup) {
  TestDatabase db;
  AuthUnderTest under_test(db);
  auto& auth = under_test.auth;
  const std::string token = CreateToken(db, "dora", Role::kTelemetry);

  EXPECT_FALSE(auth.Cached(token, http::TokenCheck::kCached).has_value());
  Answers answers;
  auth.Lookup(token, http::TokenCheck::kCached, answers.Waiter());
  const auto got = answers.Await(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].ok());
  ASSERT_TRUE(got[0].value().has_value());
  EXPECT_EQ(got[0].value()->role, Role::kTelemetry);
  EXPECT_TRUE(IsPrincipal(auth.Cached(token, http::TokenCheck::kCached), "dora"));
  EXPECT_EQ(auth.lookups(), 1u);
}

// With a TTL far beyond the test, only the NOTIFY of the revoking
// transaction can drop the cached principal.
TEST(CachedAuthenticatorTest, RevocationNoticeDropsACachedPrincipalWithinOneSecond) {
  TestDatabase db;
  auth::TokenCachePolicy policy;
  policy.positive_ttl = std::chrono::minutes(10);
  policy.refresh_after = std::chrono::minutes(10);
  AuthUnderTest under_test(db, policy);
  auto& auth = under_test.auth;
  auth.Start();
  ASSERT_TRUE(auth.listening());
  const std::string token = CreateToken(db, "erin", Role::kViewer);
  Answers answers;
  auth.Lookup(token, http::TokenCheck::kCached, answers.Waiter());
  ASSERT_EQ(answers.Await(1).size(), 1u);
  ASSERT_TRUE(IsPrincipal(auth.Cached(token, http::TokenCheck::kCached), "erin"));

  RevokeToken(db, "erin");
  const auto revoked_at = std::chrono::steady_clock::now();
  while (IsPrincipal(auth.Cached(token, http::TokenCheck::kCached), "erin") &&
         std::chrono::steady_clock::now() - revoked_at < std::chrono::seconds(1)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(IsPrincipal(auth.Cached(token, http::TokenCheck::kCached), "erin"));
  Answers after;
  auth.Lookup(token, http::TokenCheck::kCached, after.Waiter());
  const auto got = after.Await(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].ok());
  EXPECT_FALSE(got[0].value().has_value());
}

// Without the listener and with a long TTL, memory lags a revocation; a
// confirmed lookup does not.
TEST(CachedAuthenticatorTest, ConfirmedLookupSeesARevocationAtOnce) {
  TestDatabase db;
  auth::TokenCachePolicy policy;
  policy.positive_ttl = std::chrono::minutes(10);
  policy.refresh_after = std::chrono::minutes(10);
  AuthUnderTest under_test(db, policy);
  auto& auth = under_test.auth;
  const std::string token = CreateToken(db, "fred", Role::kAdmin);
  Answers first;
  auth.Lookup(token, http::TokenCheck::kConfirmed, first.Waiter());
  ASSERT_EQ(first.Await(1).size(), 1u);
  ASSERT_TRUE(IsPrincipal(auth.Cached(token, http::TokenCheck::kCached), "fred"));  // the confirmed answer is kept

  RevokeToken(db, "fred");
  Answers after;
  auth.Lookup(token, http::TokenCheck::kConfirmed, after.Waiter());
  const auto got = after.Await(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].ok());
  EXPECT_FALSE(got[0].value().has_value());
  EXPECT_EQ(auth.lookups(), 2u);
}

}  // namespace
}  // namespace backstop::testing
