#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/app/cached_authenticator.hpp"
#include "backstop/evaluator/evaluator.hpp"

#include "backstop/common/sha256.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/token_repository.hpp"
#include "tcp_proxy.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

std::uint16_t PortOf(const std::string& url) {
  const auto at = url.find('@');
  const auto colon = url.find(':', at);
  return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1, url.find('/', colon) - colon - 1)));
}

// `url` with its host and port replaced by the proxy's.
std::string ViaProxy(const std::string& url, const TcpProxy& proxy) {
  const auto at = url.find('@');
  const auto slash = url.find('/', at);
  return url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(proxy.port()) + url.substr(slash);
}

// backstop_series_active as last set by an evaluator tick, or -1.
double SeriesActive(app::App& app) {
  const std::string text = app.metrics().Serialize();
  const std::string name = "\nbackstop_series_active ";
  const auto at = text.find(name);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size()));
}

// Backstop talks to PostgreSQL through a proxy the test can cut.
TEST(DatabaseOutageTest, AnswersServiceUnavailableThenRecoversWithoutRestart) {
  TestDatabase db;
  TcpProxy proxy("127.0.0.1", PortOf(db.url()));
  auto cfg = TestConfig(ViaProxy(db.url(), proxy));
  cfg.http.request_timeout = Millis(3000);
  app::App app(cfg);
  ASSERT_TRUE(app.Start().ok());
  std::string token;
  {
    auto conn = db.Connect();
    pqxx::work tx(*conn);
    token = *store::TokenRepository::Create(tx, "ops", Role::kViewer, "test");
    tx.commit();
  }
  http::HttpClient client("127.0.0.1", app.port());
  auto get = [&](const std::string& target) {
    auto r = client.Send({"GET", target, {{"Authorization", "Bearer " + token}}, ""}, Millis(10000));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  };
  ASSERT_EQ(get("/v1/mode").status, 200);
  ASSERT_EQ(get("/readyz").status, 200);

  proxy.Cut();
  const auto started = std::chrono::steady_clock::now();
  auto down = get("/v1/mode");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(ErrorCode(down), "unavailable");
  EXPECT_FALSE(down.Header("Retry-After").empty());
  // Within the request timeout (plus slack for a slow machine), never a hang.
  EXPECT_LT(took, std::chrono::milliseconds(cfg.http.request_timeout.count() + 2000));
  auto not_ready = get("/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(get("/healthz").status, 200);  // liveness does not depend on the database

  proxy.Restore();
  // The pool reconnects on its own; poll (bounded) until it has.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    status = get("/v1/mode").status;
  }
  EXPECT_EQ(status, 200);
  // Readiness also needs the evaluator lease back, renewed on the next tick.
  int ready = 0;
  for (int i = 0; i < 50 && ready != 200; ++i) {
    ready = get("/readyz").status;
    if (ready != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ready, 200);
  app.Stop();
}

// Authentication needs no database for a token this process already knows,
// so telemetry keeps being accepted through an outage; a token it does not
// know cannot be judged then: 503, not 401.
TEST(DatabaseOutageTest, KnownTokenKeepsPostingTelemetryAndUnknownTokenGets503) {
  TestDatabase db;
  TcpProxy proxy("127.0.0.1", PortOf(db.url()));
  auto cfg = TestConfig(ViaProxy(db.url(), proxy));
  // The evaluator renews its lease every tick; when it cannot, it keeps the
  // lease until its last known expiry and turns standby (telemetry 503, a
  // rule of its own tested below) only then. So the outage below starts
  // right after a tick and ends well within the next one.
  cfg.evaluation_tick = Millis(6000);
  app::App app(cfg);
  ASSERT_TRUE(app.Start().ok());
  std::string token;
  {
    auto conn = db.Connect();
    pqxx::work tx(*conn);
    token = *store::TokenRepository::Create(tx, "agent", Role::kTelemetry, "test");
    tx.commit();
  }
  http::HttpClient client("127.0.0.1", app.port());
  const std::string batch = TelemetryBatch("checkout", "v2", 0.01, 10);
  auto post = [&](const std::string& bearer) {
    auto r = client.Send({"POST", "/v1/telemetry",
                          {{"Authorization", "Bearer " + bearer}, {"Content-Type", "application/json"}}, batch},
                         Millis(10000));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  };
  ASSERT_EQ(post(token).status, 202);
  // A tick that counts the new series has renewed the lease after the post.
  for (int i = 0; i < 1000 && SeriesActive(app) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(SeriesActive(app), 1);

  proxy.Cut();
  // Beyond the second a principal is trusted without asking: from then on
  // the failed lookups answer with the last known principal.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) {
    auto r = post(token);
    ASSERT_EQ(r.status, 202) << r.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string stranger = "bst_" + RandomHex(32);
  auto unknown = post(stranger);
  EXPECT_EQ(unknown.status, 503) << unknown.body;
  EXPECT_EQ(ErrorCode(unknown), "unavailable");
  EXPECT_FALSE(unknown.Header("Retry-After").empty());

  proxy.Restore();
  // Once the database answers again, the stranger is refused as unknown.
  int status = 0;
  for (int i = 0; i < 50 && status != 401; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    status = post(stranger).status;
  }
  EXPECT_EQ(status, 401);
  app.Stop();
}

// A principal kept through an outage stands for telemetry (TokenCheck::
// kCached) but not for the routes that go to the database anyway
// (kRecent): there a token is trusted at most a second after the database
// last said so, then confirmed -- which fails while the database is away,
// however the pool fails (down, saturated, timed out).
TEST(DatabaseOutageTest, OnlyTelemetryTrustsAPrincipalKeptThroughAnOutage) {
  TestDatabase db;
  TcpProxy proxy("127.0.0.1", PortOf(db.url()));
  std::string token;
  {
    auto conn = db.Connect();
    pqxx::work tx(*conn);
    token = *store::TokenRepository::Create(tx, "ci-bot", Role::kDeployer, "test");
    tx.commit();
  }
  const auto config = TestConfig(ViaProxy(db.url(), proxy));
  struct AuthOverProxy {
    explicit AuthOverProxy(const config::Config& c)
        : pool(std::make_unique<store::DbPool>(c.database_url, c.database)), auth(*pool, c) {}
    ~AuthOverProxy() {
      auth.Stop();
      pool.reset();  // first: its lookups in flight call back into auth
    }
    std::unique_ptr<store::DbPool> pool;
    app::CachedAuthenticator auth;
  } under(config);
  app::CachedAuthenticator* auth = &under.auth;
  const auto lookup = [&](http::TokenCheck check) {
    auto answer = std::make_shared<std::promise<http::Authenticator::Outcome>>();
    auto future = answer->get_future();
    auth->Lookup(token, check, [answer](http::Authenticator::Outcome o) { answer->set_value(std::move(o)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  };
  const auto is_ci_bot = [](const std::optional<http::Authenticator::Outcome>& o) {
    return o && o->ok() && o->value().has_value() && o->value()->name == "ci-bot";
  };
  const auto read_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(is_ci_bot(lookup(http::TokenCheck::kRecent)));
  EXPECT_TRUE(is_ci_bot(auth->Cached(token, http::TokenCheck::kRecent)));

  proxy.Cut();
  // Telemetry keeps using the token: its background refreshes fail and keep
  // the principal.
  while (std::chrono::steady_clock::now() - read_at < std::chrono::milliseconds(1300)) {
    auth->Cached(token, http::TokenCheck::kCached);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(is_ci_bot(lookup(http::TokenCheck::kCached)));
  EXPECT_TRUE(is_ci_bot(auth->Cached(token, http::TokenCheck::kCached)));
  // More than a second after the last read, a kRecent route trusts nothing.
  EXPECT_FALSE(auth->Cached(token, http::TokenCheck::kRecent).has_value());
  const auto recent = lookup(http::TokenCheck::kRecent);
  ASSERT_FALSE(recent.ok());
  EXPECT_EQ(recent.error().kind, ErrorKind::kUnavailable);

  proxy.Restore();
  int tries = 0;
  while (!is_ci_bot(lookup(http::TokenCheck::kRecent)) && ++tries < 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(is_ci_bot(auth->Cached(token, http::TokenCheck::kRecent)));
}

// A short outage does not turn the active evaluator into a standby: the
// lease it holds cannot be taken over before its expiry, so it keeps
// accepting telemetry until then; past it, telemetry gets 503 until the
// database is back and the lease renewed.
TEST(DatabaseOutageTest, ActiveEvaluatorKeepsItsLeaseUntilItsLastKnownExpiry) {
  TestDatabase db;
  TcpProxy proxy("127.0.0.1", PortOf(db.url()));
  auto cfg = TestConfig(ViaProxy(db.url(), proxy));
  cfg.evaluation_tick = Millis(300);  // the lease lasts its minimum, 2 s
  app::App app(cfg);
  ASSERT_TRUE(app.Start().ok());
  std::string token;
  {
    auto conn = db.Connect();
    pqxx::work tx(*conn);
    token = *store::TokenRepository::Create(tx, "agent", Role::kTelemetry, "test");
    tx.commit();
  }
  http::HttpClient client("127.0.0.1", app.port());
  const std::string batch = TelemetryBatch("checkout", "v2", 0.01, 10);
  auto post = [&] {
    auto r = client.Send({"POST", "/v1/telemetry",
                          {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, batch},
                         Millis(10000));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->status : 0;
  };
  ASSERT_EQ(post(), 202);
  ASSERT_TRUE(app.evaluator().active());

  proxy.Cut();
  app.evaluator().TickNow();  // the renewal fails: the lease is kept
  EXPECT_TRUE(app.evaluator().active());
  EXPECT_EQ(post(), 202);
  // Past its expiry (at most 2 s after the last renewal, before the cut).
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  app.evaluator().TickNow();
  EXPECT_FALSE(app.evaluator().active());
  EXPECT_EQ(post(), 503);

  proxy.Restore();
  // The lease comes back at a tick, and the token is read again once the
  // pool has reconnected (the revocation listener's reconnect empties the
  // cache): poll, bounded.
  int status = 0;
  for (int i = 0; i < 50 && status != 202; ++i) {
    app.evaluator().TickNow();
    if (app.evaluator().active()) status = post();
    if (status != 202) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(app.evaluator().active());
  EXPECT_EQ(status, 202);
  app.Stop();
}

}  // namespace
}  // namespace backstop::testing
