// GET /openapi.json: every routed path and method is documented, and real
// answers validate against the document's schemas.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/evaluator/evaluator.hpp"
#include "json_schema.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir.Write("web.yaml", ThresholdYaml("web", 1, "auto"));
    dir.Write("gated.yaml", ThresholdYaml("gated", 1, "approval"));
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    approver = server->Token("sre-1", Role::kApprover);
    admin = server->Token("admin-1", Role::kAdmin);
    auto r = server->Request("GET", "/openapi.json");
    ASSERT_EQ(r.status, 200) << r.body;
    document = ParseJson(r.body);
  }

  // The schema of `status` for `method path` (a pattern), resolved through components/responses.
  const boost::json::value& ResponseSchema(const std::string& pattern, const std::string& method, int status) {
    const boost::json::value* response =
        document.at("paths").at(pattern).at(Lower(method)).at("responses").as_object().if_contains(std::to_string(status));
    if (response == nullptr) throw std::runtime_error(method + " " + pattern + " documents no " + std::to_string(status));
    if (const auto* ref = response->as_object().if_contains("$ref")) {
      boost::system::error_code ec;
      response = document.find_pointer(std::string(ref->as_string()).substr(1), ec);
    }
    return response->at("content").at("application/json").at("schema");
  }

  // Sends a request and checks the answer against the document.
  http::ClientResponse Check(const std::string& method, const std::string& target, const std::string& pattern,
                             const std::string& token = "", const std::string& body = "") {
    auto r = server->Request(method, target, token, body);
    const auto errors = ValidateJson(ParseJson(r.body), ResponseSchema(pattern, method, r.status), document);
    EXPECT_TRUE(errors.empty()) << method << " " << target << " " << r.status << ": " << errors.front() << "\n"
                                << r.body;
    return r;
  }

  ThresholdDir dir;
  std::unique_ptr<TestServer> server;
  std::string deployer, approver, admin;
  boost::json::value document;
};

TEST_F(OpenApiTest, IsOpenApi31WithBearerSecurityAndBothWebhooks) {
  EXPECT_EQ(document.at("openapi").as_string(), "3.1.0");
  EXPECT_EQ(document.at("components").at("securitySchemes").at("bearerAuth").at("scheme").as_string(), "bearer");
  EXPECT_TRUE(document.at("webhooks").as_object().contains("rollback"));
  EXPECT_TRUE(document.at("webhooks").as_object().contains("notification"));
}

TEST_F(OpenApiTest, EveryRoutedPathAndMethodIsDocumentedAndNothingElse) {
  const auto routes = server->app().routes();
  ASSERT_FALSE(routes.empty());
  std::size_t documented = 0;
  for (const auto& [path, item] : document.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      ++documented;
      const bool routed = std::any_of(routes.begin(), routes.end(), [&, &m = method, &p = path](const auto& r) {
        return Lower(r.first) == std::string(m) && r.second == std::string(p);
      });
      EXPECT_TRUE(routed) << "documented but not routed: " << method << " " << path;
    }
  }
  for (const auto& [method, pattern] : routes) {
    const auto* item = document.at("paths").as_object().if_contains(pattern);
    EXPECT_TRUE(item != nullptr && item->as_object().contains(Lower(method)))
        << "routed but missing from /openapi.json: " << method << " " << pattern;
  }
  EXPECT_EQ(documented, routes.size());
}

TEST_F(OpenApiTest, TheValidatorRejectsAnAnswerThatBreaksTheSchema) {
  auto r = PostDeployment(*server, deployer,
                          R"({"id":"rel-1","service":"web","environment":"prod","version":"v2","previous_version":"v1",)"
                          R"("release_class":"web","traffic_percent":10})");
  ASSERT_EQ(r.status, 201);
  auto answer = ParseJson(r.body);
  answer.at("release").as_object().erase("id");
  answer.at("release").as_object()["status"] = "sideways";
  const auto errors = ValidateJson(answer, ResponseSchema("/v1/deployments", "POST", 201), document);
  EXPECT_EQ(errors.size(), 2u);
}

TEST_F(OpenApiTest, RealAnswersMatchTheirSchemas) {
  Check("GET", "/healthz", "/healthz");
  Check("GET", "/readyz", "/readyz");
  const std::string deployment = R"({"id":"rel-1","service":"web","environment":"prod","version":"v2",)"
                                 R"("previous_version":"v1","release_class":"web","traffic_percent":10,)"
                                 R"("metadata":{"commit":"abc"}})";
  Check("POST", "/v1/deployments", "/v1/deployments", deployer, deployment);
  Check("POST", "/v1/deployments", "/v1/deployments", deployer, deployment);  // 200 replay
  Check("POST", "/v1/deployments", "/v1/deployments", deployer,
        R"({"id":"rel-2","service":"gated","environment":"prod","version":"v2","previous_version":"v1",)"
        R"("release_class":"gated","traffic_percent":10})");
  Check("POST", "/v1/releases/rel-1/traffic", "/v1/releases/{id}/traffic", deployer, R"({"traffic_percent":20})");
  Check("POST", "/v1/telemetry", "/v1/telemetry", deployer, TelemetryBatch("web", "v2", 0.5, 10));
  Check("POST", "/v1/telemetry", "/v1/telemetry", deployer, TelemetryBatch("gated", "v2", 0.5, 10));
  // Ticks until both releases are decided (bounded).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    server->app().evaluator().TickNow();
    const auto pending = ParseJson(server->Request("GET", "/v1/escalations?state=pending", admin).body);
    const auto actions = ParseJson(server->Request("GET", "/v1/actions?release_id=rel-1", admin).body);
    if (!pending.at("escalations").as_array().empty() && !actions.at("actions").as_array().empty()) break;
    std::this_thread::sleep_for(20ms);
  }

  Check("GET", "/v1/releases", "/v1/releases", admin);
  Check("GET", "/v1/releases/rel-1", "/v1/releases/{id}", admin);
  auto escalations = Check("GET", "/v1/escalations?state=pending", "/v1/escalations", approver);
  const auto escalations_answer = ParseJson(escalations.body);
  const auto& pending = escalations_answer.at("escalations").as_array();
  ASSERT_EQ(pending.size(), 1u) << escalations.body;
  const std::string esc_id(pending[0].at("id").as_string());
  Check("GET", "/v1/escalations/" + esc_id, "/v1/escalations/{id}", approver);
  Check("POST", "/v1/escalations/" + esc_id + "/approve", "/v1/escalations/{id}/approve", approver, R"({"comment":"ok"})");
  Check("POST", "/v1/escalations/" + esc_id + "/reject", "/v1/escalations/{id}/reject", approver,
        R"({"comment":"too late"})");  // 409: already decided

  auto actions = Check("GET", "/v1/actions?release_id=rel-1", "/v1/actions", admin);
  const auto actions_answer = ParseJson(actions.body);
  const auto& list = actions_answer.at("actions").as_array();
  ASSERT_FALSE(list.empty()) << actions.body;
  Check("GET", "/v1/actions/" + std::string(list[0].at("id").as_string()), "/v1/actions/{id}", admin);
  Check("GET", "/v1/audit?limit=5", "/v1/audit", admin);
  Check("GET", "/v1/audit/verify", "/v1/audit/verify", admin);
  Check("GET", "/v1/thresholds", "/v1/thresholds", admin);
  Check("POST", "/v1/thresholds/reload", "/v1/thresholds/reload", admin);
  Check("GET", "/v1/mode", "/v1/mode", admin);
  Check("PUT", "/v1/mode", "/v1/mode", admin, R"({"mode":"dry_run","reason":"game day"})");

  // Errors have the one error shape.
  Check("POST", "/v1/deployments", "/v1/deployments", deployer, R"({"service":"web"})");      // 400
  Check("GET", "/v1/releases", "/v1/releases");                                              // 401
  Check("PUT", "/v1/mode", "/v1/mode", deployer, R"({"mode":"freeze"})");                     // 403
  Check("GET", "/v1/releases/nope", "/v1/releases/{id}", admin);                             // 404
  Check("POST", "/v1/deployments", "/v1/deployments", deployer,
        R"({"id":"rel-1","service":"web","environment":"prod","version":"v3","release_class":"web","traffic_percent":10})");  // 409
}

}  // namespace
}  // namespace backstop::testing
