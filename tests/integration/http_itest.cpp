#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/token_repository.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

TEST(AuthTest, MissingTokenIs401) {
  TestServer server;
  auto r = server.Request("GET", "/v1/mode");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "unauthorized");
}

TEST(AuthTest, UnknownTokenIs401) {
  TestServer server;
  server.Token("alice", Role::kViewer);
  auto r = server.Request("GET", "/v1/mode", "bst_not-a-real-token");
  EXPECT_EQ(r.status, 401);
}

TEST(AuthTest, NonBearerSchemeIs401) {
  TestServer server;
  http::HttpClient client("127.0.0.1", server.port());
  auto r = client.Send({"GET", "/v1/mode", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}}, ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
}

TEST(AuthTest, RevokedTokenIs401) {
  TestServer server;
  const std::string token = server.Token("bob", Role::kViewer);
  EXPECT_EQ(server.Request("GET", "/v1/mode", token).status, 200);
  {
    auto conn = server.db().Connect();
    pqxx::work tx(*conn);
    ASSERT_TRUE(store::TokenRepository::Revoke(tx, "bob", "test").ok());
    tx.commit();
  }
  EXPECT_EQ(server.Request("GET", "/v1/mode", token).status, 401);
}

TEST(AuthTest, OnlyTheHashOfATokenIsStored) {
  TestServer server;
  const std::string token = server.Token("carol", Role::kAdmin);
  auto conn = server.db().Connect();
  pqxx::read_transaction tx(*conn);
  const auto row = tx.exec1("SELECT token_sha256 FROM api_tokens WHERE name = 'carol'");
  EXPECT_EQ(row[0].as<std::string>(), Sha256Hex(token));
  EXPECT_TRUE(tx.exec_params("SELECT 1 FROM api_tokens WHERE token_sha256 = $1", token).empty());
}

// Every role against reading and changing the mode: 200 or 403 exactly as DESIGN lists.
TEST(AuthTest, RoleMatrixForMode) {
  TestServer server;
  struct Case {
    Role role;
    int get_status;
    int put_status;
  };
  const Case cases[] = {{Role::kViewer, 200, 403},   {Role::kDeployer, 200, 403},
                        {Role::kApprover, 200, 403}, {Role::kAdmin, 200, 200},
                        {Role::kTelemetry, 403, 403}};
  for (const auto& c : cases) {
    const std::string name = "user-" + std::string(RoleName(c.role));
    const std::string token = server.Token(name, c.role);
    EXPECT_EQ(server.Request("GET", "/v1/mode", token).status, c.get_status) << name;
    auto put = server.Request("PUT", "/v1/mode", token, R"({"mode":"normal"})");
    EXPECT_EQ(put.status, c.put_status) << name << " " << put.body;
    if (c.put_status == 403) {
      EXPECT_EQ(ErrorCode(put), "forbidden");
    }
  }
}

TEST(ModeTest, PutChangesModeAuditsItAndSurvivesRestart) {
  TestServer server;
  const std::string admin = server.Token("admin-1", Role::kAdmin);
  auto put = server.Request("PUT", "/v1/mode", admin, R"({"mode":"freeze"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(ParseJson(put.body).at("mode").as_string(), "freeze");
  EXPECT_EQ(ParseJson(server.Request("GET", "/v1/mode", admin).body).at("mode").as_string(), "freeze");

  auto audit = ParseJson(server.Request("GET", "/v1/audit", admin).body);
  const auto& newest = audit.at("entries").as_array().at(0).as_object();
  EXPECT_EQ(newest.at("kind").as_string(), "mode.changed");
  EXPECT_EQ(newest.at("actor").as_string(), "admin-1");
  EXPECT_EQ(newest.at("payload").at("to").as_string(), "freeze");

  // A second server on the same database sees the stored mode.
  app::App second(TestConfig(server.db().url()));
  ASSERT_TRUE(second.Start().ok());
  http::HttpClient client("127.0.0.1", second.port());
  auto r = client.Send({"GET", "/v1/mode", {{"Authorization", "Bearer " + admin}}, ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ParseJson(r->body).at("mode").as_string(), "freeze");
  second.Stop();
}

TEST(ModeTest, BadModeIs400NamingTheField) {
  TestServer server;
  const std::string admin = server.Token("admin-1", Role::kAdmin);
  for (const std::string body : {R"({"mode":"panic"})", R"({"mode":1})", R"({})", R"({"mode":"normal","x":1})"}) {
    auto r = server.Request("PUT", "/v1/mode", admin, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_FALSE(ParseJson(r.body).at("error").at("details").as_array().empty()) << body;
  }
  auto bad_json = server.Request("PUT", "/v1/mode", admin, "{not json");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(ErrorCode(bad_json), "invalid_json");
  EXPECT_EQ(ParseJson(server.Request("GET", "/v1/mode", admin).body).at("mode").as_string(), "normal");
}

TEST(HttpTest, NonJsonBodyIs415) {
  TestServer server;
  const std::string admin = server.Token("admin-1", Role::kAdmin);
  auto r = server.Request("PUT", "/v1/mode", admin, "mode=freeze", "text/plain");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(ErrorCode(r), "unsupported_media_type");
  auto missing = server.Request("PUT", "/v1/mode", admin, R"({"mode":"freeze"})", "");
  EXPECT_EQ(missing.status, 415);
}

TEST(HttpTest, BodyOverTheLimitIs413) {
  auto cfg = TestConfig("");  // TestServer fills in its own database
  cfg.limits.max_body_bytes = 1024;
  TestServer server(cfg);
  const std::string admin = server.Token("admin-1", Role::kAdmin);
  const std::string big = R"({"mode":")" + std::string(4096, 'x') + R"("})";
  auto r = server.Request("PUT", "/v1/mode", admin, big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "payload_too_large");
  // A body just under the limit still gets through to validation.
  auto small = server.Request("PUT", "/v1/mode", admin, R"({"mode":"nope"})");
  EXPECT_EQ(small.status, 400);
}

TEST(HttpTest, UnknownRouteIs404AndWrongMethodIs405) {
  TestServer server;
  const std::string admin = server.Token("admin-1", Role::kAdmin);
  auto missing = server.Request("GET", "/v1/nothing-here", admin);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "not_found");
  auto wrong = server.Request("DELETE", "/v1/mode", admin);
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(ErrorCode(wrong), "method_not_allowed");
  EXPECT_NE(wrong.Header("Allow").find("GET"), std::string::npos);
}

// Issue 16: bytes that are not UTF-8 in a path id or a query were echoed
// into the error message as they were, so the answer was not JSON.
TEST(HttpTest, NonUtf8BytesInTheRequestStillGiveAValidUtf8JsonAnswer) {
  TestServer server;
  const std::string admin = server.Token("admin-1", Role::kAdmin);
  struct Case {
    const char* method;
    const char* target;
    int status;
  };
  const Case cases[] = {
      {"GET", "/v1/releases/%ff%fe", 404},
      {"GET", "/v1/releases/%c0%af", 404},
      {"GET", "/v1/releases/ok%ed%a0%80", 404},
      {"GET", "/v1/escalations/%ff%fe", 404},
      {"GET", "/v1/actions/%e2%80", 404},
      {"POST", "/v1/releases/%ff%fe/traffic", 404},
      {"POST", "/v1/escalations/%fe/approve", 404},
      {"GET", "/v1/no-such-route-%ff", 404},
      {"GET", "/v1/releases?%ff%fe=1", 400},
      {"GET", "/v1/releases?service=%ff%fe", 400},
      {"GET", "/v1/releases?status=%ff", 400},
  };
  for (const Case& c : cases) {
    const std::string body = std::string(c.method) == "POST" ? R"({"traffic_percent":5})" : "";
    auto r = server.Request(c.method, c.target, admin, body);
    EXPECT_EQ(r.status, c.status) << c.target << ": " << r.body;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(r.body, ec);  // strict: rejects invalid UTF-8
    EXPECT_FALSE(ec) << c.target << " answered " << r.body;
    if (!ec) {
      EXPECT_TRUE(v.at("error").at("message").is_string()) << r.body;
    }
  }
  auto r = server.Request("GET", "/v1/releases/%ff%fe", admin);
  EXPECT_NE(r.body.find("no release \xEF\xBF\xBD\xEF\xBF\xBD"), std::string::npos) << r.body;
}

TEST(HttpTest, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer server;
  http::HttpClient client("127.0.0.1", server.port());
  for (int i = 0; i < 20; ++i) {
    auto r = client.Send({"GET", "/healthz", {}, ""});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
  }
}

TEST(HttpTest, HealthAndReadinessNeedNoToken) {
  TestServer server;
  EXPECT_EQ(server.Request("GET", "/healthz").status, 200);
  auto ready = server.Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ParseJson(ready.body).at("checks").at("database").as_bool(), true);
}

// Parses Prometheus text exposition strictly enough to catch a broken format:
// every sample line is `name{labels} value`, every family has HELP and TYPE.
std::map<std::string, double> ParsePrometheus(const std::string& text) {
  std::map<std::string, double> samples;
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+\-]+|NaN|\+Inf|-Inf)$)");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, kSample)) << "bad exposition line: " << line;
    if (!m.empty()) samples[m[1].str() + m[2].str()] = std::stod(m[3].str());
  }
  return samples;
}

TEST(MetricsTest, TheBackgroundSealerObservesEachSealedEntrysDelay) {
  TestServer server;
  // An audited write (token.created) per round; the sealer runs every 20 ms.
  // A read that seals first (the head export, every 5 s) does not observe,
  // so one entry may go unobserved: the loop writes again (bounded).
  double sealed = 0;
  std::string body;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; sealed < 1 && std::chrono::steady_clock::now() < deadline; ++i) {
    server.Token("sealing-witness-" + std::to_string(i), Role::kViewer);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = server.Request("GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    body = r.body;
    sealed = ParsePrometheus(body)["backstop_audit_sealing_delay_seconds_count"];
  }
  EXPECT_GE(sealed, 1) << body;
  EXPECT_GE(ParsePrometheus(body)[R"(backstop_audit_sealing_delay_seconds_bucket{le="+Inf"})"], 1) << body;
}

TEST(MetricsTest, ExpositionParsesAndCountsRequests) {
  TestServer server;
  for (int i = 0; i < 3; ++i) server.Request("GET", "/healthz");
  server.Request("GET", "/v1/mode");  // 401
  auto r = server.Request("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("Content-Type").find("text/plain"), std::string::npos);
  auto samples = ParsePrometheus(r.body);
  EXPECT_EQ((samples[R"(backstop_http_requests_total{method="GET",route="/healthz",status="200"})"]), 3);
  EXPECT_EQ((samples[R"(backstop_http_requests_total{method="GET",route="/v1/mode",status="401"})"]), 1);
  EXPECT_EQ(samples[R"(backstop_http_request_duration_seconds_count{route="/healthz"})"], 3);
  EXPECT_EQ(samples[R"(backstop_build_info{version=")" BACKSTOP_VERSION R"("})"], 1);
  EXPECT_EQ(samples[R"(backstop_db_pool_connections{state="size"})"], 4);
  EXPECT_TRUE(samples.count("backstop_audit_head_seq")) << r.body;
  // Families with a known label set are there, at zero, before any event.
  EXPECT_EQ(samples.count(R"(backstop_decisions_total{decision="auto_rollback"})"), 1u);
  EXPECT_EQ(samples.count(R"(backstop_telemetry_samples_total{result="accepted"})"), 1u);
  EXPECT_EQ(samples.count(R"(backstop_rollbacks_total{decided_by="auto",result="succeeded"})"), 1u);
  for (const char* name : {"backstop_releases_active", "backstop_threshold_sets_loaded", "backstop_series_active",
                           "backstop_evaluations_total", "backstop_escalations_pending", "backstop_actions_pending",
                           "backstop_action_stale_completions_total", "backstop_decision_latency_seconds_count",
                           "backstop_action_duration_seconds_count",
                           "backstop_escalation_time_to_decision_seconds_count"}) {
    EXPECT_EQ(samples.count(name), 1u) << name;
  }
}

}  // namespace
}  // namespace backstop::testing
