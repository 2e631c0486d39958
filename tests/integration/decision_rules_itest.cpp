#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "webhook_receiver.hpp"

// The two decision rules of issue 11 through the real server: a bound touched
// by both cohorts is conflict.baseline_degraded (an escalation, no rollback),
// and a canary that is clearly worse than its baseline while hovering at the
// bound is a breach, not flapping (an auto-rollback through the webhook).

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecretEnv = "BACKSTOP_TEST_WEBHOOK_SECRET";
constexpr const char* kSecret = "test-secret-value";

// An auto class with one critical signal, http_5xx_ratio, bound 0.05, and a
// baseline comparison; `aggregate`, the comparison and the timing vary.
std::string WebClass(const std::string& aggregate, const std::string& baseline, const std::string& breach_for,
                     int flap_limit) {
  return "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: " + breach_for +
         "\n  duration: 1h\n  flap_limit: " + std::to_string(flap_limit) + "\n"
         "signals:\n  - name: http_5xx_ratio\n    aggregate: " + aggregate + "\n    bad_when: above\n"
         "    max: 0.05\n    baseline:\n" + baseline;
}

class DecisionRulesTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv(kSecretEnv, kSecret, 1); }

  void Start(const std::string& class_yaml) {
    dir.Write("web.yaml", class_yaml);
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(100);
    c.executors = {WebhookExecutor(receiver.url(), kSecretEnv)};
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    admin = server->Token("admin-1", Role::kAdmin);
  }

  void Deploy() {
    auto r = PostDeployment(*server, deployer,
                            R"({"id":"rel-1","service":"checkout","environment":"prod","version":"v2",)"
                            R"("previous_version":"v1","release_class":"web","traffic_percent":10})");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // One request with a sample of http_5xx_ratio per value, stamped on receipt.
  void Post(const std::string& version, const std::vector<double>& values) {
    boost::json::array samples;
    for (double v : values) {
      samples.push_back(boost::json::object{{"service", "checkout"}, {"environment", "prod"}, {"version", version},
                                            {"signal", "http_5xx_ratio"}, {"value", v}});
    }
    auto r = server->Request("POST", "/v1/telemetry", deployer,
                             boost::json::serialize(boost::json::object{{"samples", samples}}));
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_EQ(ParseJson(r.body).at("accepted").as_int64(), static_cast<std::int64_t>(values.size())) << r.body;
  }

  boost::json::object Release() {
    return ParseJson(server->Request("GET", "/v1/releases/rel-1", admin).body).at("release").as_object();
  }

  std::string AwaitStatusChange(std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string status = "evaluating";
    while (status == "evaluating" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      status = std::string(Release().at("status").as_string());
    }
    return status;
  }

  boost::json::array Escalations() {
    return ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1", admin).body)
        .at("escalations").as_array();
  }
  boost::json::array Actions() {
    return ParseJson(server->Request("GET", "/v1/actions?release_id=rel-1", admin).body).at("actions").as_array();
  }
  static std::vector<std::string> Strings(const boost::json::value& array) {
    std::vector<std::string> out;
    for (const auto& r : array.as_array()) out.emplace_back(r.as_string());
    return out;
  }

  ThresholdDir dir;
  WebhookReceiver receiver;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string admin;
};

// Bound 0.05; the canary runs at about 0.054 and the baseline at about 0.045
// (1.2x, not the 2x the class asks). Before issue 11 this rolled back: the
// baseline is under the bound. The environment is pushing both cohorts
// against it, so a human decides.
TEST_F(DecisionRulesTest, ABoundTouchedByBothCohortsEscalatesAsBaselineDegradedWithoutAWebhook) {
  Start(WebClass("mean", "      ratio: 2\n      min_delta: 0.01\n      test: mann_whitney\n", "0s", 3));
  Deploy();
  Post("v1", {0.043, 0.045, 0.047, 0.044, 0.046, 0.043, 0.045, 0.047, 0.044, 0.046});
  Post("v2", {0.052, 0.054, 0.056, 0.053, 0.055, 0.052, 0.054, 0.056, 0.053, 0.055});
  ASSERT_EQ(AwaitStatusChange(), "escalated");

  auto escalations = Escalations();
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(Strings(escalations[0].at("reasons")),
            (std::vector<std::string>{"signal.breach", "conflict.baseline_degraded"}));
  const auto& evidence = escalations[0].at("evidence");
  EXPECT_EQ(evidence.at("verdict").as_string(), "conflict");
  EXPECT_EQ(Strings(evidence.at("conflicts")), std::vector<std::string>{"conflict.baseline_degraded"});
  const auto& signal = evidence.at("signals").as_array()[0];
  EXPECT_EQ(signal.at("state").as_string(), "breach");
  EXPECT_NEAR(signal.at("canary").at("value").to_number<double>(), 0.054, 1e-9);
  EXPECT_NEAR(signal.at("baseline").at("value").to_number<double>(), 0.045, 1e-9);

  const auto decisions = Release().at("decisions").as_array();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "escalate");
  // Nothing was sent: give a wrongly queued action time to reach the receiver.
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(Actions().empty());
  EXPECT_TRUE(receiver.received().empty());
}

// Bound 0.05, baseline 0.042 (within 20% of the bound), `last` aggregate,
// breach_for 1s, flap_limit 1. The canary moves between 0.054 (worse than the
// baseline by ratio 1.1 and min_delta 0.005, over the bound) and 0.046 (under
// the bound, 1.095x the baseline: a pass), crossing the bound on every sample.
// The old rule counted those breach<->pass changes as flips and escalated a
// real regression as flapping; none of them leaves the band 0.045..0.055, and
// the baseline near the bound does not excuse a canary worse by both.
TEST_F(DecisionRulesTest, AClearlyWorseCanaryHoveringAtTheBoundRollsBackThroughTheWebhook) {
  Start(WebClass("last", "      ratio: 1.1\n      min_delta: 0.005\n      test: none\n", "1s", 1));
  Deploy();
  Post("v1", std::vector<double>(10, 0.042));
  Post("v2", std::vector<double>(5, 0.054));
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(100ms);
    Post("v2", {0.046});
    std::this_thread::sleep_for(100ms);
    Post("v2", {0.054});
  }

  ASSERT_TRUE(receiver.AwaitCount(1, 15s));
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  const auto body = ParseJson(got[0].body);
  EXPECT_EQ(body.at("release_id").as_string(), "rel-1");
  EXPECT_EQ(body.at("decided_by").as_string(), "auto");
  EXPECT_EQ(body.at("to_version").as_string(), "v1");
  EXPECT_EQ(Strings(body.at("reasons")), std::vector<std::string>{"signal.breach"});

  const auto rel = Release();
  const auto& decisions = rel.at("decisions").as_array();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "auto_rollback");
  EXPECT_EQ(Strings(decisions[0].at("reasons")), std::vector<std::string>{"signal.breach"});
  EXPECT_TRUE(Escalations().empty());
}

}  // namespace
}  // namespace backstop::testing
