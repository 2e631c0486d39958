#include <gtest/gtest.h>

#include "backstop/auth/token_cache.hpp"

namespace backstop::auth {
namespace {

using std::chrono::milliseconds;

const SteadyTime kT0 = SteadyTime(std::chrono::hours(1));
const std::string kHash = "aa";

Outcome Known(const std::string& name = "alice") { return std::optional<Principal>(Principal{name, Role::kViewer}); }
Outcome Unknown() { return std::optional<Principal>{}; }

bool IsPrincipal(const Outcome& o, const std::string& name) {
  return o.ok() && o.value().has_value() && o.value()->name == name;
}
bool IsUnknown(const Outcome& o) { return o.ok() && !o.value().has_value(); }

// A waiter that records what it was answered.
struct Recorder {
  std::vector<Outcome> answers;
  Waiter waiter() {
    return [this](Outcome o) { answers.push_back(std::move(o)); };
  }
};

// Looks `hash` up through Join/Complete with `result`, at `now`.
void LookUp(TokenCache& cache, const std::string& hash, Outcome result, SteadyTime now) {
  Recorder r;
  auto ticket = cache.Join(hash, r.waiter(), now);
  ASSERT_TRUE(ticket.has_value());
  auto done = cache.Complete(*ticket, std::move(result), now);
  for (auto& w : done.waiters) w(done.answer);
}

TEST(TokenCacheTest, MissesUntilALookupCompletes) {
  TokenCache cache;
  EXPECT_FALSE(cache.Find(kHash, kT0).has_value());
  LookUp(cache, kHash, Known(), kT0);
  auto hit = cache.Find(kHash, kT0 + milliseconds(10));
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(IsPrincipal(hit->answer, "alice"));
  EXPECT_FALSE(hit->refresh.has_value());
}

TEST(TokenCacheTest, ConcurrentMissesShareOneLookup) {
  TokenCache cache;
  Recorder a, b, c;
  const auto first = cache.Join(kHash, a.waiter(), kT0);
  const auto second = cache.Join(kHash, b.waiter(), kT0);
  const auto third = cache.Join(kHash, c.waiter(), kT0);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(second.has_value());
  EXPECT_FALSE(third.has_value());
  auto done = cache.Complete(*first, Known(), kT0);
  EXPECT_EQ(done.waiters.size(), 3u);
  EXPECT_TRUE(IsPrincipal(done.answer, "alice"));
}

TEST(TokenCacheTest, ConfirmNeverSharesALookup) {
  TokenCache cache;
  Recorder a, b, c;
  const auto shared = cache.Join(kHash, a.waiter(), kT0);
  ASSERT_TRUE(shared.has_value());
  const auto own = cache.Confirm(kHash, b.waiter(), kT0);
  EXPECT_NE(own, *shared);
  // A later miss may join the newest shared lookup, never a confirmation.
  EXPECT_FALSE(cache.Join(kHash, c.waiter(), kT0).has_value());
  EXPECT_EQ(cache.Complete(*shared, Known(), kT0).waiters.size(), 2u);
  EXPECT_EQ(cache.Complete(own, Known(), kT0).waiters.size(), 1u);
}

TEST(TokenCacheTest, UnknownTokenIsRememberedForTheNegativeTtl) {
  TokenCachePolicy policy;
  policy.negative_ttl = milliseconds(5000);
  TokenCache cache(policy);
  LookUp(cache, kHash, Unknown(), kT0);
  auto hit = cache.Find(kHash, kT0 + milliseconds(4999));
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(IsUnknown(hit->answer));
  EXPECT_FALSE(hit->refresh.has_value());  // unknown tokens are not refreshed ahead
  EXPECT_TRUE(cache.RemembersUnknown(kHash, kT0 + milliseconds(4999)));
  EXPECT_FALSE(cache.Find(kHash, kT0 + milliseconds(5000)).has_value());
  EXPECT_FALSE(cache.RemembersUnknown(kHash, kT0 + milliseconds(5000)));
}

TEST(TokenCacheTest, KnownTokenExpiresAfterThePositiveTtlCountedFromTheLookupStart) {
  TokenCachePolicy policy;
  policy.positive_ttl = milliseconds(1000);
  TokenCache cache(policy);
  Recorder r;
  const auto ticket = cache.Join(kHash, r.waiter(), kT0);
  ASSERT_TRUE(ticket.has_value());
  (void)cache.Complete(*ticket, Known(), kT0 + milliseconds(300));  // a slow lookup
  EXPECT_TRUE(cache.Find(kHash, kT0 + milliseconds(999)).has_value());
  EXPECT_FALSE(cache.Find(kHash, kT0 + milliseconds(1000)).has_value());
}

TEST(TokenCacheTest, BusyKnownTokenAsksForOneBackgroundRefresh) {
  TokenCachePolicy policy;
  policy.positive_ttl = milliseconds(1000);
  policy.refresh_after = milliseconds(500);
  TokenCache cache(policy);
  LookUp(cache, kHash, Known(), kT0);
  auto early = cache.Find(kHash, kT0 + milliseconds(499));
  ASSERT_TRUE(early.has_value());
  EXPECT_FALSE(early->refresh.has_value());
  auto late = cache.Find(kHash, kT0 + milliseconds(600));
  ASSERT_TRUE(late.has_value());
  ASSERT_TRUE(late->refresh.has_value());
  auto again = cache.Find(kHash, kT0 + milliseconds(700));
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->refresh.has_value());  // one is in flight already
  auto done = cache.Complete(*late->refresh, Known(), kT0 + milliseconds(800));
  EXPECT_TRUE(done.waiters.empty());
  // Renewed from the refresh's start (600 ms): fresh until 1600 ms.
  EXPECT_TRUE(cache.Find(kHash, kT0 + milliseconds(1500)).has_value());
}

TEST(TokenCacheTest, RefreshThatFindsTheTokenRevokedReplacesIt) {
  TokenCache cache;
  LookUp(cache, kHash, Known(), kT0);
  auto hit = cache.Find(kHash, kT0 + milliseconds(600));
  ASSERT_TRUE(hit.has_value() && hit->refresh.has_value());
  (void)cache.Complete(*hit->refresh, Unknown(), kT0 + milliseconds(600));
  auto after = cache.Find(kHash, kT0 + milliseconds(700));
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(IsUnknown(after->answer));
}

TEST(TokenCacheTest, ClearForgetsAnswersAndDoesNotKeepALookupThatBeganBefore) {
  TokenCache cache;
  LookUp(cache, kHash, Known(), kT0);
  Recorder before, after;
  const auto old_ticket = cache.Join("bb", before.waiter(), kT0);
  ASSERT_TRUE(old_ticket.has_value());
  cache.Clear();
  EXPECT_FALSE(cache.Find(kHash, kT0).has_value());
  // A miss after the Clear does not join the lookup that began before it.
  const auto new_ticket = cache.Join("bb", after.waiter(), kT0);
  ASSERT_TRUE(new_ticket.has_value());
  EXPECT_NE(*old_ticket, *new_ticket);
  auto old_done = cache.Complete(*old_ticket, Known("bob"), kT0);
  EXPECT_EQ(old_done.waiters.size(), 1u);  // its own waiter still gets an answer
  EXPECT_FALSE(cache.Find("bb", kT0).has_value());  // but it is not kept
  (void)cache.Complete(*new_ticket, Unknown(), kT0);
  auto hit = cache.Find("bb", kT0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(IsUnknown(hit->answer));
}

TEST(TokenCacheTest, UnreachableDatabaseAnswersTheLastKnownPrincipal) {
  TokenCachePolicy policy;
  policy.positive_ttl = milliseconds(1000);
  TokenCache cache(policy);
  LookUp(cache, kHash, Known(), kT0);
  const SteadyTime later = kT0 + milliseconds(5000);
  ASSERT_FALSE(cache.Find(kHash, later).has_value());
  Recorder r;
  const auto ticket = cache.Join(kHash, r.waiter(), later);
  ASSERT_TRUE(ticket.has_value());
  auto done = cache.Complete(*ticket, Error::Unavailable("database unavailable"), later);
  EXPECT_TRUE(IsPrincipal(done.answer, "alice"));
  // Kept for another positive_ttl, so the outage costs one lookup per second.
  EXPECT_TRUE(cache.Find(kHash, later + milliseconds(999)).has_value());
}

// A principal kept through an outage answers Freshness::kThroughOutage
// (telemetry) but not kRecentRead: that needs a read of the database less
// than positive_ttl ago.
TEST(TokenCacheTest, APrincipalKeptThroughAnOutageIsNoRecentRead) {
  TokenCachePolicy policy;
  policy.positive_ttl = milliseconds(1000);
  policy.refresh_after = milliseconds(500);
  TokenCache cache(policy);
  LookUp(cache, kHash, Known(), kT0);
  EXPECT_TRUE(cache.Find(kHash, kT0 + milliseconds(400), Freshness::kRecentRead).has_value());
  // A busy token's refresh finds the database unreachable.
  auto hit = cache.Find(kHash, kT0 + milliseconds(600), Freshness::kThroughOutage);
  ASSERT_TRUE(hit.has_value());
  ASSERT_TRUE(hit->refresh.has_value());
  auto done = cache.Complete(*hit->refresh, Error::Unavailable("database unavailable"), kT0 + milliseconds(700));
  EXPECT_TRUE(IsPrincipal(done.answer, "alice"));
  const SteadyTime later = kT0 + milliseconds(1200);
  EXPECT_FALSE(cache.Find(kHash, later, Freshness::kRecentRead).has_value());
  auto kept = cache.Find(kHash, later, Freshness::kThroughOutage);
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(IsPrincipal(kept->answer, "alice"));
  // Its next refresh reads the database again: recent once more.
  ASSERT_TRUE(kept->refresh.has_value());
  cache.Complete(*kept->refresh, Known(), later);
  EXPECT_TRUE(cache.Find(kHash, later + milliseconds(900), Freshness::kRecentRead).has_value());
}

TEST(TokenCacheTest, UnreachableDatabaseIsAnErrorForAConfirmation) {
  TokenCache cache;
  LookUp(cache, kHash, Known(), kT0);
  EXPECT_FALSE(cache.RemembersUnknown(kHash, kT0));
  Recorder r;
  const auto ticket = cache.Confirm(kHash, r.waiter(), kT0 + milliseconds(10));
  auto done = cache.Complete(ticket, Error::Unavailable("database unavailable"), kT0 + milliseconds(10));
  ASSERT_FALSE(done.answer.ok());
  EXPECT_EQ(done.answer.error().kind, ErrorKind::kUnavailable);
}

TEST(TokenCacheTest, UnreachableDatabaseIsAnErrorForAnUnknownToken) {
  TokenCache cache;
  Recorder r;
  const auto ticket = cache.Join(kHash, r.waiter(), kT0);
  ASSERT_TRUE(ticket.has_value());
  auto done = cache.Complete(*ticket, Error::Unavailable("database unavailable"), kT0);
  ASSERT_FALSE(done.answer.ok());
  EXPECT_EQ(done.answer.error().kind, ErrorKind::kUnavailable);
  EXPECT_FALSE(cache.Find(kHash, kT0).has_value());  // errors are not kept
}

TEST(TokenCacheTest, OtherErrorsDoNotServeTheLastKnownPrincipal) {
  TokenCache cache;
  LookUp(cache, kHash, Known(), kT0);
  const SteadyTime later = kT0 + milliseconds(5000);
  Recorder r;
  const auto ticket = cache.Join(kHash, r.waiter(), later);
  ASSERT_TRUE(ticket.has_value());
  auto done = cache.Complete(*ticket, Error::Internal("database error"), later);
  ASSERT_FALSE(done.answer.ok());
  EXPECT_EQ(done.answer.error().kind, ErrorKind::kInternal);
}

TEST(TokenCacheTest, FullCacheSweepsExpiredEntriesAndThenStopsKeeping) {
  TokenCachePolicy policy;
  policy.max_entries = 2;
  policy.negative_ttl = milliseconds(1000);
  TokenCache cache(policy);
  LookUp(cache, "h1", Unknown(), kT0);
  LookUp(cache, "h2", Unknown(), kT0 + milliseconds(500));
  LookUp(cache, "h3", Unknown(), kT0 + milliseconds(1200));  // h1 expired: swept
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Find("h3", kT0 + milliseconds(1200)).has_value());
  LookUp(cache, "h4", Unknown(), kT0 + milliseconds(1300));  // nothing expired: not kept
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.Find("h4", kT0 + milliseconds(1300)).has_value());
}

}  // namespace
}  // namespace backstop::auth
