#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "integration_support.hpp"

// The Argo Rollouts gate (INTEGRATIONS.md §2.1) end to end: the
// AnalysisTemplate of docs/integrations/argo-rollouts.md is read, its
// jsonBody rendered with sample arguments and posted the way Argo's web
// provider posts it, and each answer judged with Argo's own
// successCondition / failureCondition semantics.

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRelease = "argo.prod.checkout.7c9d5f6b8";

boost::json::value YamlToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    boost::json::object o;
    for (const auto& kv : n) o[kv.first.as<std::string>()] = YamlToJson(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    boost::json::array a;
    for (const auto& item : n) a.push_back(YamlToJson(item));
    return a;
  }
  return boost::json::string(n.as<std::string>());
}

// The documented AnalysisTemplate's one metric.
struct Template {
  std::string success_condition;
  std::string failure_condition;
  std::string method;
  std::string path;
  int timeout_seconds = 0;
  int consecutive_error_limit = 0;
  boost::json::value json_body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Template DocumentedTemplate() {
  for (const auto& block : YamlBlocksOf("docs/integrations/argo-rollouts.md")) {
    if (block.find("kind: AnalysisTemplate") == std::string::npos) continue;
    const YAML::Node doc = YAML::Load(block);
    const YAML::Node metric = doc["spec"]["metrics"][0];
    const YAML::Node web = metric["provider"]["web"];
    Template t;
    t.success_condition = metric["successCondition"].as<std::string>();
    t.failure_condition = metric["failureCondition"].as<std::string>();
    t.consecutive_error_limit = metric["consecutiveErrorLimit"].as<int>();
    t.method = web["method"].as<std::string>();
    const std::string url = web["url"].as<std::string>();
    t.path = url.substr(url.find('/', std::string("http://").size()));
    t.timeout_seconds = web["timeoutSeconds"].as<int>();
    t.json_body = YamlToJson(web["jsonBody"]);
    for (const auto& h : web["headers"]) t.headers.emplace_back(h["key"].as<std::string>(), h["value"].as<std::string>());
    return t;
  }
  ADD_FAILURE() << "docs/integrations/argo-rollouts.md has no AnalysisTemplate";
  return {};
}

class ArgoRolloutsTest : public ::testing::Test {
 protected:
  void Start(GateServer::Options options = {}) {
    gs = std::make_unique<GateServer>(options);
    tpl = DocumentedTemplate();
  }

  // The arguments the Rollout of the docs passes, with this test's values.
  std::vector<std::pair<std::string, std::string>> Args(const std::string& release_class,
                                                        const std::string& traffic) const {
    return {{"service", "checkout"},        {"namespace", "prod"},
            {"latest-hash", "7c9d5f6b8"},    {"stable-hash", "5f4d8c7b9"},
            {"release-class", release_class}, {"traffic-percent", traffic},
            {"backstop-token", gs->deployer}};
  }

  std::string Body(const std::string& release_class = "web", const std::string& traffic = "20") const {
    return boost::json::serialize(RenderArgoArgs(tpl.json_body, Args(release_class, traffic)));
  }

  // One measurement as Argo's web provider takes it: the rendered headers,
  // Content-Type for a jsonBody, POST.
  http::ClientResponse Call(const std::string& body, const std::string& token_override = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [k, v] : tpl.headers) {
      std::string value = boost::json::value_to<std::string>(
          RenderArgoArgs(boost::json::string(v), Args("web", "20")));
      if (k == "Authorization" && !token_override.empty()) value = "Bearer " + token_override;
      headers.emplace_back(k, value);
    }
    headers.emplace_back("Content-Type", "application/json");
    auto r = Send(gs->server(), tpl.method, tpl.path, body, headers);
    gs->ExpectDocumented(tpl.method, tpl.path, r);
    return r;
  }

  // The answer and the phase Argo would record for it.
  std::pair<boost::json::object, ArgoPhase> Measure(const std::string& body) {
    const auto r = Call(body);
    if (r.status < 200 || r.status >= 300) {
      ADD_FAILURE() << "non-2xx answer (an Argo Error measurement): " << r.status << " " << r.body;
      return {{}, ArgoPhase::kError};
    }
    const auto answer = ParseJson(r.body);
    return {answer.as_object(), EvaluateArgoMeasurement(answer, tpl.success_condition, tpl.failure_condition)};
  }

  void HealthyBaseline() { gs->Samples("checkout", "prod", "5f4d8c7b9", 0.01, 10); }

  std::unique_ptr<GateServer> gs;
  Template tpl;
};

TEST_F(ArgoRolloutsTest, TheDocumentedTemplateRendersTheFixtureBody) {
  Start();
  EXPECT_EQ(tpl.success_condition, R"(result.gate == "proceed")");
  EXPECT_EQ(tpl.failure_condition, R"(result.gate == "rollback")");
  EXPECT_EQ(tpl.method, "POST");
  EXPECT_EQ(tpl.path, "/v1/integrations/argo-rollouts/gate");
  EXPECT_EQ(tpl.timeout_seconds, 5);
  EXPECT_GT(tpl.consecutive_error_limit, 0);
  EXPECT_EQ(ParseJson(Body()), boost::json::value(FixtureObject("argo-rollouts/gate-jsonbody.json")));
}

TEST_F(ArgoRolloutsTest, AHealthyCanaryProceedsUntilPromoted) {
  Start();
  auto [first, phase] = Measure(Body("web-short"));
  EXPECT_EQ(phase, ArgoPhase::kSuccessful) << first;
  EXPECT_EQ(first.at("gate").as_string(), "proceed");
  EXPECT_EQ(first.at("release_id").as_string(), kRelease);
  EXPECT_EQ(first.at("status").as_string(), "evaluating");
  EXPECT_TRUE(first.at("reasons").as_array().empty());
  EXPECT_TRUE(first.at("escalation_id").is_null());
  EXPECT_TRUE(first.at("would").is_null());

  const auto release = gs->Release(kRelease);
  EXPECT_EQ(release.at("deployed_by").as_string(), "ci-bot");
  EXPECT_EQ(release.at("traffic_percent").to_number<double>(), 20);  // "20" read as a number
  EXPECT_EQ(release.at("previous_version").as_string(), "5f4d8c7b9");

  HealthyBaseline();
  gs->Samples("checkout", "prod", "7c9d5f6b8", 0.01, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "healthy");
  auto [after, promoted] = Measure(Body("web-short"));
  EXPECT_EQ(promoted, ArgoPhase::kSuccessful) << after;
  EXPECT_EQ(after.at("status").as_string(), "healthy");
  EXPECT_EQ(after.at("verdict").as_string(), "pass");
  EXPECT_TRUE(after.at("evaluated_at").is_string());
  EXPECT_TRUE(gs->Actions(kRelease).empty());
}

TEST_F(ArgoRolloutsTest, ABreachingCanaryIsRolledBackByArgoAndTheGateActionHandedOut) {
  Start();
  ASSERT_EQ(Measure(Body()).second, ArgoPhase::kSuccessful);
  HealthyBaseline();
  gs->Samples("checkout", "prod", "7c9d5f6b8", 0.20, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "rolling_back");

  // The outbox worker leaves a gate action alone: it waits for a gate answer.
  std::this_thread::sleep_for(600ms);  // a few outbox polls
  auto actions = gs->Actions(kRelease);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("state").as_string(), "pending");
  EXPECT_EQ(actions[0].at("executor").as_string(), "gate");
  EXPECT_EQ(actions[0].at("attempts").as_int64(), 0);

  auto [answer, phase] = Measure(Body());
  EXPECT_EQ(phase, ArgoPhase::kFailed) << answer;
  EXPECT_EQ(answer.at("gate").as_string(), "rollback");
  EXPECT_EQ(Strings(answer.at("reasons")), std::vector<std::string>{"signal.breach"});
  EXPECT_EQ(answer.at("status").as_string(), "rolled_back");
  EXPECT_EQ(answer.at("verdict").as_string(), "breach");

  actions = gs->Actions(kRelease);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("state").as_string(), "succeeded");
  EXPECT_EQ(actions[0].at("attempts").as_int64(), 1);
  EXPECT_EQ(actions[0].at("to_version").as_string(), "5f4d8c7b9");
  bool handed_out = false;
  bool succeeded = false;
  for (const auto& e : gs->Audit(kRelease)) {
    const auto& payload = e.at("payload");
    if (e.at("kind") == "action.handed_out") handed_out = payload.at("picked_up_by") == "argo-rollouts";
    if (e.at("kind") == "action.succeeded") succeeded = payload.at("picked_up_by") == "argo-rollouts";
  }
  EXPECT_TRUE(handed_out);
  EXPECT_TRUE(succeeded);

  // Asked again, the answer stands; nothing is handed out twice.
  auto [again, again_phase] = Measure(Body());
  EXPECT_EQ(again_phase, ArgoPhase::kFailed);
  EXPECT_EQ(gs->Actions(kRelease).size(), 1u);

  const std::string metrics = gs->server().Request("GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(backstop_integration_requests_total{integration="argo-rollouts",result="rollback"} 2)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(backstop_gate_handouts_total{integration="argo-rollouts"} 1)"), std::string::npos);
}

TEST_F(ArgoRolloutsTest, AnEnvironmentalConflictHoldsUntilAnApprovalTurnsItIntoARollback) {
  Start();
  ASSERT_EQ(Measure(Body()).second, ArgoPhase::kSuccessful);
  gs->Samples("checkout", "prod", "5f4d8c7b9", 0.20, 10);  // the baseline is degraded too
  gs->Samples("checkout", "prod", "7c9d5f6b8", 0.21, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "escalated");

  auto [held, phase] = Measure(Body());
  EXPECT_EQ(phase, ArgoPhase::kInconclusive) << held;  // Argo pauses for a human
  EXPECT_EQ(held.at("gate").as_string(), "hold");
  const auto reasons = Strings(held.at("reasons"));
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "conflict.baseline_degraded"), reasons.end());
  ASSERT_TRUE(held.at("escalation_id").is_string());
  const std::string escalation(held.at("escalation_id").as_string());
  EXPECT_TRUE(gs->Actions(kRelease).empty());

  ASSERT_EQ(gs->Approve(escalation).status, 200);
  auto [rolled, rolled_phase] = Measure(Body());
  EXPECT_EQ(rolled_phase, ArgoPhase::kFailed) << rolled;
  EXPECT_EQ(rolled.at("gate").as_string(), "rollback");
  EXPECT_EQ(rolled.at("escalation_id").as_string(), escalation);
  EXPECT_EQ(rolled.at("status").as_string(), "rolled_back");
  const auto actions = gs->Actions(kRelease);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("decided_by").as_string(), "approval");
  EXPECT_EQ(actions[0].at("state").as_string(), "succeeded");
}

TEST_F(ArgoRolloutsTest, FreezeHoldsEveryRollout) {
  Start();
  gs->SetMode("freeze");
  auto [held, phase] = Measure(Body());
  EXPECT_EQ(phase, ArgoPhase::kInconclusive) << held;
  EXPECT_EQ(Strings(held.at("reasons")), std::vector<std::string>{"mode.freeze"});
  gs->SetMode("normal");
  EXPECT_EQ(Measure(Body()).second, ArgoPhase::kSuccessful);
}

TEST_F(ArgoRolloutsTest, DryRunProceedsAndSaysWhatItWouldDo) {
  Start();
  gs->SetMode("dry_run");
  ASSERT_EQ(Measure(Body()).second, ArgoPhase::kSuccessful);
  HealthyBaseline();
  gs->Samples("checkout", "prod", "7c9d5f6b8", 0.20, 10);
  ASSERT_TRUE(gs->AwaitDecision(kRelease, "would_rollback"));
  auto [answer, phase] = Measure(Body());
  EXPECT_EQ(phase, ArgoPhase::kSuccessful) << answer;
  EXPECT_EQ(answer.at("gate").as_string(), "proceed");
  EXPECT_EQ(answer.at("would").as_string(), "rollback");
  EXPECT_TRUE(gs->Actions(kRelease).empty());
}

TEST_F(ArgoRolloutsTest, LaterCallsChangeOnlyTheTraffic) {
  Start();
  ASSERT_EQ(Call(Body("web", "20")).status, 200);
  const auto r = Call(Body("web", "50"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(gs->Release(kRelease).at("traffic_percent").to_number<double>(), 50);
  auto other = ParseJson(Body()).as_object();
  other["version"] = "8d0e6a7c9";
  const auto mismatch = Call(boost::json::serialize(other));
  EXPECT_EQ(mismatch.status, 409) << mismatch.body;
  EXPECT_EQ(ErrorCode(mismatch), "idempotency_mismatch");
}

TEST_F(ArgoRolloutsTest, InvalidCallsAreRefusedNamingTheField) {
  Start();
  const auto bad_json = Call("{\"id\": ");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(ErrorCode(bad_json), "invalid_json");
  auto no_id = ParseJson(Body()).as_object();
  no_id.erase("id");
  const auto missing = Call(boost::json::serialize(no_id));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(Strings(ParseJson(missing.body).at("error").at("details")), std::vector<std::string>{"id"});
  auto wrong = ParseJson(Body()).as_object();
  wrong["traffic_percent"] = "lots";
  wrong["service"] = 7;
  const auto types = Call(boost::json::serialize(wrong));
  EXPECT_EQ(types.status, 400);
  EXPECT_EQ(Strings(ParseJson(types.body).at("error").at("details")),
            (std::vector<std::string>{"service", "traffic_percent"}));
  EXPECT_EQ(Call(Body(), "not-a-token").status, 401);
  EXPECT_EQ(Send(gs->server(), "POST", tpl.path, Body(), {{"Content-Type", "application/json"}}).status, 401);
  EXPECT_EQ(Call(Body(), gs->viewer).status, 403);
  EXPECT_EQ(Call(Body("no-such-class")).status, 400);
  // Nothing was registered by any of them.
  EXPECT_EQ(gs->server().Request("GET", "/v1/releases/" + std::string(kRelease), gs->admin).status, 404);
}

TEST_F(ArgoRolloutsTest, AGateActionNeverHandedOutFailsAfterItsTimeoutAndEscalates) {
  GateServer::Options options;
  options.gate_timeout = 1s;
  Start(options);
  ASSERT_EQ(Measure(Body()).second, ArgoPhase::kSuccessful);
  HealthyBaseline();
  gs->Samples("checkout", "prod", "7c9d5f6b8", 0.20, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "rolling_back");
  // Argo never asks again in time: the tick fails the action once its timeout passed.
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "rolling_back"), "rollback_failed");
  auto actions = gs->Actions(kRelease);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("state").as_string(), "failed");
  EXPECT_NE(std::string(actions[0].at("last_error").as_string()).find("not handed out within 1s"),
            std::string::npos);
  auto escalations = gs->Escalations(kRelease);
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(Strings(escalations[0].at("reasons")), std::vector<std::string>{"rollback.failed"});
  const std::string escalation(escalations[0].at("id").as_string());

  auto [held, phase] = Measure(Body());
  EXPECT_EQ(phase, ArgoPhase::kInconclusive) << held;
  EXPECT_EQ(Strings(held.at("reasons")), std::vector<std::string>{"rollback.failed"});
  EXPECT_EQ(held.at("escalation_id").as_string(), escalation);

  // Approving queues a new gate action; the next answer hands it out.
  ASSERT_EQ(gs->Approve(escalation).status, 200);
  auto [rolled, rolled_phase] = Measure(Body());
  EXPECT_EQ(rolled_phase, ArgoPhase::kFailed) << rolled;
  EXPECT_EQ(rolled.at("status").as_string(), "rolled_back");
  actions = gs->Actions(kRelease);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].at("state").as_string(), "succeeded");  // newest first
  EXPECT_EQ(actions[0].at("decided_by").as_string(), "approval");
}

}  // namespace
}  // namespace backstop::testing
