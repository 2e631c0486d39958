#include <chrono>
#include <thread>

#include <gtest/gtest.h>

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

// Backstop talks to PostgreSQL through a proxy the test can cut.
TEST(DatabaseOutageTest, AnswersServiceUnavailableThenRecoversWithoutRestart) {
  TestDatabase db;
  TcpProxy proxy("127.0.0.1", PortOf(db.url()));
  std::string via_proxy = db.url();
  const auto at = via_proxy.find('@');
  const auto slash = via_proxy.find('/', at);
  via_proxy = via_proxy.substr(0, at + 1) + "127.0.0.1:" + std::to_string(proxy.port()) + via_proxy.substr(slash);

  auto cfg = TestConfig(via_proxy);
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

}  // namespace
}  // namespace backstop::testing
