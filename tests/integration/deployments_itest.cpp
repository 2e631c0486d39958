#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace backstop::testing {
namespace {

const char* kValid =
    R"({"id":"rel-1","service":"checkout","environment":"production","version":"v2.4.1",)"
    R"("previous_version":"v2.4.0","release_class":"stateless-service","traffic_percent":10,)"
    R"("triggered_by":"alice","metadata":{"commit":"abc123"}})";

class DeploymentsTest : public ::testing::Test {
 protected:
  DeploymentsTest() {
    deployer = server.Token("ci-bot", Role::kDeployer);
    viewer = server.Token("viewer-1", Role::kViewer);
  }
  int CountReleases() {
    auto conn = server.db().Connect();
    pqxx::read_transaction tx(*conn);
    return tx.exec1("SELECT count(*) FROM releases")[0].as<int>();
  }
  boost::json::object Release(const std::string& id) {
    auto r = server.Request("GET", "/v1/releases/" + id, viewer);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body).at("release").as_object();
  }
  TestServer server;
  std::string deployer;
  std::string viewer;
};

TEST_F(DeploymentsTest, RegistersAReleaseThatPinsTheNewestThresholds) {
  auto r = PostDeployment(server, deployer, kValid);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto rel = ParseJson(r.body).at("release").as_object();
  EXPECT_EQ(rel.at("id").as_string(), "rel-1");
  EXPECT_EQ(rel.at("service").as_string(), "checkout");
  EXPECT_EQ(rel.at("environment").as_string(), "production");
  EXPECT_EQ(rel.at("version").as_string(), "v2.4.1");
  EXPECT_EQ(rel.at("previous_version").as_string(), "v2.4.0");
  EXPECT_EQ(rel.at("release_class").as_string(), "stateless-service");
  EXPECT_GE(rel.at("thresholds_version").as_int64(), 1);
  EXPECT_EQ(rel.at("traffic_percent").to_number<double>(), 10.0);
  EXPECT_EQ(rel.at("status").as_string(), "evaluating");
  EXPECT_EQ(rel.at("deployed_by").as_string(), "ci-bot");
  EXPECT_EQ(rel.at("triggered_by").as_string(), "alice");
  EXPECT_EQ(rel.at("metadata").at("commit").as_string(), "abc123");
  const std::string started = std::string(rel.at("started_at").as_string());
  EXPECT_EQ(started.back(), 'Z');
  EXPECT_TRUE(rel.at("decisions").as_array().empty());
  EXPECT_EQ(Release("rel-1").at("id").as_string(), "rel-1");

  auto audit = ParseJson(server.Request("GET", "/v1/audit?release_id=rel-1", viewer).body);
  const auto& entries = audit.at("entries").as_array();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("kind").as_string(), "release.registered");
  EXPECT_EQ(entries[0].at("actor").as_string(), "ci-bot");
}

TEST_F(DeploymentsTest, ServerMakesAnIdWhenNoneIsGiven) {
  auto r = PostDeployment(server, deployer,
                          R"({"service":"a","environment":"e","version":"v1","release_class":"config-change","traffic_percent":0})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(ParseJson(r.body).at("release").at("id").as_string().size(), 36u);
}

struct InvalidCase {
  const char* field;
  const char* body;
};

// Each invalid field → 400 naming it, and nothing is stored.
TEST_F(DeploymentsTest, EachInvalidFieldIs400NamingItAndStoresNothing) {
  const InvalidCase cases[] = {
      {"service", R"({"environment":"e","version":"v1","release_class":"config-change","traffic_percent":1})"},
      {"service", R"({"service":"has space","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1})"},
      {"service", R"({"service":12,"environment":"e","version":"v1","release_class":"config-change","traffic_percent":1})"},
      {"environment", R"({"service":"s","version":"v1","release_class":"config-change","traffic_percent":1})"},
      {"version", R"({"service":"s","environment":"e","version":"","release_class":"config-change","traffic_percent":1})"},
      {"previous_version", R"({"service":"s","environment":"e","version":"v1","previous_version":"v1","release_class":"config-change","traffic_percent":1})"},
      {"previous_version", R"({"service":"s","environment":"e","version":"v1","previous_version":"a/b","release_class":"config-change","traffic_percent":1})"},
      {"release_class", R"({"service":"s","environment":"e","version":"v1","release_class":"nope","traffic_percent":1})"},
      {"release_class", R"({"service":"s","environment":"e","version":"v1","traffic_percent":1})"},
      {"traffic_percent", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change"})"},
      {"traffic_percent", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":101})"},
      {"traffic_percent", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":-1})"},
      {"traffic_percent", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":"10"})"},
      {"shared_infrastructure", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1,"shared_infrastructure":"yes"})"},
      {"triggered_by", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1,"triggered_by":"a b"})"},
      {"metadata", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1,"metadata":[1]})"},
      {"id", R"({"id":"bad id!","service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1})"},
      {"colour", R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1,"colour":"red"})"},
  };
  for (const auto& c : cases) {
    auto r = PostDeployment(server, deployer, c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    const auto details = ParseJson(r.body).at("error").at("details").as_array();
    bool named = false;
    for (const auto& d : details) named = named || d.as_string() == c.field;
    EXPECT_TRUE(named) << c.field << " not named in " << r.body;
  }
  auto too_long = PostDeployment(server, deployer,
                                 R"({"id":")" + std::string(129, 'a') +
                                     R"(","service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1})");
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(PostDeployment(server, deployer, "[1,2]").status, 400);
  EXPECT_EQ(PostDeployment(server, deployer, "{").status, 400);
  EXPECT_EQ(CountReleases(), 0);
}

TEST_F(DeploymentsTest, SameIdSameBodyIs200DifferentBodyIs409) {
  ASSERT_EQ(PostDeployment(server, deployer, kValid).status, 201);
  // Same JSON, other key order and spacing.
  auto replay = PostDeployment(server, deployer,
                               R"({ "traffic_percent": 10, "release_class": "stateless-service", "id": "rel-1",)"
                               R"( "service": "checkout", "environment": "production", "version": "v2.4.1",)"
                               R"( "previous_version": "v2.4.0", "triggered_by": "alice", "metadata": {"commit": "abc123"} })");
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(ParseJson(replay.body).at("release").at("id").as_string(), "rel-1");
  auto other = PostDeployment(server, deployer,
                              R"({"id":"rel-1","service":"checkout","environment":"production","version":"v2.4.2",)"
                              R"("release_class":"stateless-service","traffic_percent":10})");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(ErrorCode(other), "idempotency_mismatch");
  EXPECT_EQ(CountReleases(), 1);
}

TEST_F(DeploymentsTest, ConcurrentPostsWithOneIdCreateExactlyOneRelease) {
  constexpr int kClients = 10;
  std::vector<int> statuses(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] { statuses[i] = PostDeployment(server, deployer, kValid).status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), kClients - 1);
  EXPECT_EQ(CountReleases(), 1);
}

// Registrations of one service/environment serialize on its lock (taken by
// the release INSERT itself when nothing is read first): however they race,
// exactly one release stays in progress — the last registered — and every
// other was superseded, with its audit entry.
TEST_F(DeploymentsTest, ConcurrentReleasesOfOneServiceLeaveExactlyTheNewestInProgress) {
  constexpr int kClients = 8;
  constexpr int kEach = 6;
  std::vector<std::thread> threads;
  std::vector<int> created(kClients, 0);
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        const std::string n = std::to_string(c) + "-" + std::to_string(i);
        const auto r = PostDeployment(server, deployer,
                                      R"({"id":"race-)" + n + R"(","service":"checkout","environment":"production",)"
                                      R"("version":"v)" + n + R"(","previous_version":"v0","release_class":"stateless-service",)"
                                      R"("traffic_percent":5})");
        if (r.status == 201) ++created[c];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(created[c], kEach) << "client " << c;
  auto conn = server.db().Connect();
  pqxx::read_transaction tx(*conn);
  const auto in_progress = tx.exec(
      "SELECT id FROM releases WHERE service = 'checkout' AND environment = 'production' AND status <> 'superseded'");
  ASSERT_EQ(in_progress.size(), 1u);
  EXPECT_EQ(in_progress[0][0].as<std::string>(),
            tx.exec1("SELECT id FROM releases ORDER BY seq DESC LIMIT 1")[0].as<std::string>());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM releases WHERE status = 'superseded'")[0].as<int>(), kClients * kEach - 1);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM audit_log WHERE kind = 'release.superseded'")[0].as<int>(),
            kClients * kEach - 1);
}

TEST_F(DeploymentsTest, NewReleaseSupersedesTheOneInProgress) {
  ASSERT_EQ(PostDeployment(server, deployer, kValid).status, 201);
  ASSERT_EQ(PostDeployment(server, deployer,
                           R"({"id":"other-env","service":"checkout","environment":"staging","version":"v2.4.1",)"
                           R"("release_class":"stateless-service","traffic_percent":10})").status, 201);
  auto next = PostDeployment(server, deployer,
                             R"({"id":"rel-2","service":"checkout","environment":"production","version":"v2.4.2",)"
                             R"("previous_version":"v2.4.1","release_class":"stateless-service","traffic_percent":5})");
  ASSERT_EQ(next.status, 201) << next.body;
  EXPECT_EQ(Release("rel-1").at("status").as_string(), "superseded");
  EXPECT_EQ(Release("rel-2").at("status").as_string(), "evaluating");
  EXPECT_EQ(Release("other-env").at("status").as_string(), "evaluating");
  auto audit = ParseJson(server.Request("GET", "/v1/audit?release_id=rel-1", viewer).body);
  EXPECT_EQ(audit.at("entries").as_array()[0].at("kind").as_string(), "release.superseded");
}

TEST_F(DeploymentsTest, RolesThatMayNotDeployGet403) {
  for (Role role : {Role::kViewer, Role::kApprover, Role::kTelemetry}) {
    const std::string token = server.Token("r-" + std::string(RoleName(role)), role);
    EXPECT_EQ(PostDeployment(server, token, kValid).status, 403) << RoleName(role);
  }
  EXPECT_EQ(PostDeployment(server, "", kValid).status, 401);
  const std::string admin = server.Token("boss", Role::kAdmin);
  EXPECT_EQ(PostDeployment(server, admin, kValid).status, 201);
  const std::string telemetry = server.Token("metrics-pipe", Role::kTelemetry);
  EXPECT_EQ(server.Request("GET", "/v1/releases/rel-1", telemetry).status, 403);
  EXPECT_EQ(server.Request("GET", "/v1/releases/rel-1", deployer).status, 200);
  EXPECT_EQ(CountReleases(), 1);
}

TEST_F(DeploymentsTest, TrafficChangesAreValidatedAndAudited) {
  ASSERT_EQ(PostDeployment(server, deployer, kValid).status, 201);
  auto r = server.Request("POST", "/v1/releases/rel-1/traffic", deployer, R"({"traffic_percent":50})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r.body).at("release").at("traffic_percent").to_number<double>(), 50.0);
  EXPECT_EQ(server.Request("POST", "/v1/releases/rel-1/traffic", deployer, R"({"traffic_percent":150})").status, 400);
  EXPECT_EQ(server.Request("POST", "/v1/releases/rel-1/traffic", deployer, R"({})").status, 400);
  EXPECT_EQ(server.Request("POST", "/v1/releases/nope/traffic", deployer, R"({"traffic_percent":5})").status, 404);
  EXPECT_EQ(server.Request("POST", "/v1/releases/rel-1/traffic", viewer, R"({"traffic_percent":5})").status, 403);
  EXPECT_EQ(Release("rel-1").at("traffic_percent").to_number<double>(), 50.0);
}

TEST_F(DeploymentsTest, ListFiltersAndPagesNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    const std::string body = R"({"id":"r)" + std::to_string(i) + R"(","service":"svc)" + std::to_string(i % 2) +
                             R"(","environment":"prod","version":"v1","release_class":"config-change","traffic_percent":1})";
    ASSERT_EQ(PostDeployment(server, deployer, body).status, 201);
  }
  auto all = ParseJson(server.Request("GET", "/v1/releases?limit=2", viewer).body).as_object();
  auto page = all.at("releases").as_array();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].at("id").as_string(), "r4");
  EXPECT_EQ(page[1].at("id").as_string(), "r3");
  auto next = ParseJson(server.Request("GET", "/v1/releases?limit=2&cursor=" + std::string(all.at("next").as_string()), viewer).body);
  EXPECT_EQ(next.at("releases").as_array()[0].at("id").as_string(), "r2");
  auto svc0 = ParseJson(server.Request("GET", "/v1/releases?service=svc0", viewer).body).at("releases").as_array();
  EXPECT_EQ(svc0.size(), 3u);
  // r0 and r2 were superseded by the next release of their service.
  auto evaluating = ParseJson(server.Request("GET", "/v1/releases?status=evaluating&environment=prod", viewer).body);
  EXPECT_EQ(evaluating.at("releases").as_array().size(), 2u);
  EXPECT_EQ(server.Request("GET", "/v1/releases?status=bogus", viewer).status, 400);
  EXPECT_EQ(server.Request("GET", "/v1/releases?limit=1001", viewer).status, 400);
  EXPECT_EQ(server.Request("GET", "/v1/releases/missing", viewer).status, 404);
}

// Issue 16: numbers in metadata outside what a stored JSON number can hold
// (Boost.JSON reads 1e309 as infinity, and a 40-digit integer as a rounded
// double) are a 400 naming metadata, not a 500 from the database.
TEST_F(DeploymentsTest, MetadataNumberOutOfRangeIs400NamingMetadataAndStoresNothing) {
  const char* numbers[] = {"1e309", "-1e309", "1e400", "0.1e99999", "1234567890123456789012345678901234567890",
                           "-1234567890123456789012345678901234567890", "18446744073709551616"};
  for (const char* n : numbers) {
    for (const std::string& metadata : {std::string(R"({"n":)") + n + "}",
                                        std::string(R"({"deep":{"list":[1,"x",{"n":)") + n + "}]}}"}) {
      const std::string body =
          R"({"service":"s","environment":"e","version":"v1","release_class":"config-change","traffic_percent":1,)"
          R"("metadata":)" + metadata + "}";
      auto r = PostDeployment(server, deployer, body);
      EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
      EXPECT_EQ(ErrorCode(r), "invalid_input") << r.body;
      const auto details = ParseJson(r.body).at("error").at("details").as_array();
      EXPECT_EQ(details.size(), 1u) << r.body;
      if (!details.empty()) {
        EXPECT_EQ(details[0].as_string(), "metadata") << r.body;
      }
    }
  }
  EXPECT_EQ(CountReleases(), 0);
  // What a double or a 64-bit integer holds is fine, however large.
  auto ok = PostDeployment(server, deployer,
                           R"({"service":"s","environment":"e","version":"v1","release_class":"config-change",)"
                           R"("traffic_percent":1,"metadata":{"a":1.7e308,"b":-9223372036854775808,)"
                           R"("c":18446744073709551615,"d":4.9e-324,"e":1e-400,"f":"1e309"}})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  const auto metadata = ParseJson(ok.body).at("release").at("metadata");
  EXPECT_DOUBLE_EQ(metadata.at("a").to_number<double>(), 1.7e308);
  EXPECT_EQ(metadata.at("c").as_uint64(), 18446744073709551615ull);
  EXPECT_EQ(metadata.at("f").as_string(), "1e309");
}

// Issue 16 / DESIGN "Deployment id": a client retrying after a 503 without
// an id must not register the release twice.
TEST_F(DeploymentsTest, RetriedDeploymentWithoutIdIsTheSameRelease) {
  const std::string body =
      R"({"service":"checkout","environment":"prod","version":"v7","previous_version":"v6",)"
      R"("release_class":"stateless-service","traffic_percent":10,"metadata":{"build":42}})";
  auto first = PostDeployment(server, deployer, body);
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string id(ParseJson(first.body).at("release").at("id").as_string());
  // The same JSON, other key order and spacing.
  auto retry = PostDeployment(server, deployer,
                              R"({ "metadata": {"build": 42}, "traffic_percent": 10.0, "version": "v7",)"
                              R"( "release_class": "stateless-service", "previous_version": "v6",)"
                              R"( "environment": "prod", "service": "checkout" })");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(ParseJson(retry.body).at("release").at("id").as_string(), id);
  EXPECT_EQ(ParseJson(retry.body).at("release").at("status").as_string(), "evaluating");
  EXPECT_EQ(CountReleases(), 1);
  auto audit = ParseJson(server.Request("GET", "/v1/audit?release_id=" + id, viewer).body);
  EXPECT_EQ(audit.at("entries").as_array().size(), 1u);

  // Another body for the same version is a new deployment (it supersedes).
  auto changed = PostDeployment(server, deployer,
                                R"({"service":"checkout","environment":"prod","version":"v7","previous_version":"v6",)"
                                R"("release_class":"stateless-service","traffic_percent":50,"metadata":{"build":42}})");
  ASSERT_EQ(changed.status, 201) << changed.body;
  EXPECT_EQ(Release(id).at("status").as_string(), "superseded");
  // Only the newest release is matched: the first body again is new once more.
  EXPECT_EQ(PostDeployment(server, deployer, body).status, 201);
  // A deployment that named an id is never the match of one without.
  const std::string with_id =
      R"({"id":"named","service":"cart","environment":"prod","version":"v1","release_class":"config-change","traffic_percent":1})";
  ASSERT_EQ(PostDeployment(server, deployer, with_id).status, 201);
  EXPECT_EQ(PostDeployment(server, deployer,
                           R"({"service":"cart","environment":"prod","version":"v1","release_class":"config-change","traffic_percent":1})")
                .status,
            201);
  EXPECT_EQ(CountReleases(), 5);
}

// The intake routes take the caller from memory (README "Tokens"): a token
// revoked behind this process's back (no notice reaches it) stops working
// within a second, and nothing it posts after its refusal is registered.
TEST_F(DeploymentsTest, ARevokedDeployerTokenIsRefusedOnTheIntakeRoutesWithinOneSecond) {
  ASSERT_EQ(PostDeployment(server, deployer, kValid).status, 201);
  {
    auto conn = server.db().Connect();
    pqxx::work tx(*conn);
    tx.exec0("UPDATE api_tokens SET revoked_at = now() WHERE name = 'ci-bot'");
    tx.commit();
  }
  const auto revoked_at = std::chrono::steady_clock::now();
  // A request sent a second or more after the revocation must be refused;
  // one sent earlier may still be taken.
  const auto check = [&](int status, std::chrono::steady_clock::time_point sent, const char* what) {
    return status == 401 || sent - revoked_at < std::chrono::milliseconds(1000)
               ? ::testing::AssertionSuccess()
               : ::testing::AssertionFailure() << what << " answered " << status << " "
                                               << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      sent - revoked_at)
                                                      .count()
                                               << " ms after the revocation";
  };
  int deploy = 0, traffic = 0;
  for (int i = 0; deploy != 401 || traffic != 401; ++i) {
    const auto deploy_sent = std::chrono::steady_clock::now();
    deploy = PostDeployment(server, deployer,
                            R"({"id":"late-)" + std::to_string(i) +
                                R"(","service":"cart","environment":"prod","version":"v1","release_class":"config-change","traffic_percent":1})")
                 .status;
    ASSERT_TRUE(check(deploy, deploy_sent, "POST /v1/deployments"));
    const auto traffic_sent = std::chrono::steady_clock::now();
    traffic = server.Request("POST", "/v1/releases/rel-1/traffic", deployer, R"({"traffic_percent":20})").status;
    ASSERT_TRUE(check(traffic, traffic_sent, "POST /v1/releases/rel-1/traffic"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(deploy, 401);
  EXPECT_EQ(traffic, 401);
  const int registered = CountReleases();
  EXPECT_EQ(PostDeployment(server, deployer,
                           R"({"id":"after","service":"cart","environment":"prod","version":"v2","release_class":"config-change","traffic_percent":1})")
                .status,
            401);
  EXPECT_EQ(CountReleases(), registered);
}

}  // namespace
}  // namespace backstop::testing
