#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/evaluator/evaluator.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

// A class that decides at once: breach_for 0s, 5 samples, a 5xx bound and a
// baseline comparison without the statistical test.
std::string WebClass(const std::string& automation = "auto", int budget = 5, int max_traffic = 25) {
  return "release_class: web\nversion: 1\n"
         "reversibility: " + std::string(automation == "auto" ? "reversible_with_state" : "reversible_with_backup") +
         "\nautomation: " + automation + "\n"
         "blast_radius:\n  max_traffic_percent: " + std::to_string(max_traffic) + "\n"
         "budget:\n  max_auto_rollbacks: " + std::to_string(budget) + "\n  per: 1h\n"
         "approval:\n  ttl: 1h\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n"
         "  - name: http_5xx_ratio\n    max: 0.05\n    baseline:\n      ratio: 2\n      min_delta: 0.01\n"
         "      test: none\n    sources_tolerance: 0.5\n";
}

class EvaluationTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(WebClass()); }

  void Start(const std::string& class_yaml) {
    server.reset();
    dir.Write("web.yaml", class_yaml);
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(100);
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    admin = server->Token("admin-1", Role::kAdmin);
  }

  void Deploy(const std::string& id, const std::string& service, const std::string& extra = "") {
    auto r = PostDeployment(*server, deployer,
                            R"({"id":")" + id + R"(","service":")" + service +
                                R"(","environment":"prod","version":"v2","previous_version":"v1",)"
                                R"("release_class":"web","traffic_percent":10)" + extra + "}");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Posts n samples of `value` for service/version/source.
  void Samples(const std::string& service, const std::string& version, double value, int n,
               const std::string& source = "") {
    auto r = server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch(service, version, value, n, source));
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_EQ(ParseJson(r.body).at("accepted").as_int64(), n) << r.body;
  }

  // Runs one evaluation tick now (instead of sleeping until the loop's).
  void Tick() { server->app().evaluator().TickNow(); }

  boost::json::object Release(const std::string& id) {
    return ParseJson(server->Request("GET", "/v1/releases/" + id, admin).body).at("release").as_object();
  }

  // Polls (bounded) until the release leaves `evaluating`; returns its status.
  std::string AwaitStatusChange(const std::string& id, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string status = "evaluating";
    while (status == "evaluating" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      status = std::string(Release(id).at("status").as_string());
    }
    return status;
  }

  // Polls the database (bounded) until the release has an action row; returns the count.
  int AwaitActionRows(const std::string& release_id) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int rows = 0;
    while (rows == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      auto conn = server->db().Connect();
      pqxx::read_transaction tx(*conn);
      rows = tx.exec_params1("SELECT count(*) FROM actions WHERE release_id = $1", release_id)[0].as<int>();
    }
    return rows;
  }

  boost::json::array Actions(const std::string& id) {
    return ParseJson(server->Request("GET", "/v1/actions?release_id=" + id, admin).body).at("actions").as_array();
  }
  boost::json::array Escalations(const std::string& id) {
    return ParseJson(server->Request("GET", "/v1/escalations?release_id=" + id, admin).body)
        .at("escalations").as_array();
  }
  static std::vector<std::string> Reasons(const boost::json::value& v) {
    std::vector<std::string> out;
    for (const auto& r : v.at("reasons").as_array()) out.emplace_back(r.as_string());
    return out;
  }
  static bool Contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  ThresholdDir dir;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string admin;
};

TEST_F(EvaluationTest, ClearRegressionAutoRollsBackWithOnePendingAction) {
  Deploy("rel-1", "checkout");
  Samples("checkout", "v1", 0.01, 10);
  Samples("checkout", "v2", 0.20, 10);
  // The log executor of the test config runs the action at once, so the
  // release may already be rolled back.
  ASSERT_TRUE(IsRollbackStatus(AwaitStatusChange("rel-1")));
  auto actions = Actions("rel-1");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_TRUE(IsOneOf(actions[0].at("state").as_string(), {"pending", "running", "succeeded"}));
  EXPECT_EQ(actions[0].at("decided_by").as_string(), "auto");
  EXPECT_EQ(actions[0].at("to_version").as_string(), "v1");
  EXPECT_EQ(Reasons(actions[0]), std::vector<std::string>{"signal.breach"});
  EXPECT_TRUE(Escalations("rel-1").empty());

  const auto rel = Release("rel-1");
  const auto& decisions = rel.at("decisions").as_array();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "auto_rollback");
  EXPECT_EQ(Reasons(decisions[0]), std::vector<std::string>{"signal.breach"});
  const auto& evaluation = rel.at("evaluation").as_object();
  EXPECT_EQ(evaluation.at("verdict").as_string(), "breach");
  const auto& signal = evaluation.at("signals").as_array()[0].as_object();
  EXPECT_EQ(signal.at("name").as_string(), "http_5xx_ratio");
  EXPECT_EQ(signal.at("source").as_string(), "default");
  EXPECT_EQ(signal.at("state").as_string(), "breach");
  EXPECT_NEAR(signal.at("canary").at("value").to_number<double>(), 0.2, 1e-9);
  EXPECT_EQ(signal.at("canary").at("samples").as_int64(), 10);
  EXPECT_NEAR(signal.at("baseline").at("value").to_number<double>(), 0.01, 1e-9);

  // More bad telemetry decides nothing new.
  Samples("checkout", "v2", 0.30, 10);
  Tick();
  EXPECT_EQ(Actions("rel-1").size(), 1u);
  auto audit = ParseJson(server->Request("GET", "/v1/audit?release_id=rel-1", admin).body);
  EXPECT_TRUE(HasAuditKind(audit, "decision.auto_rollback"));
}

TEST_F(EvaluationTest, BaselineAlsoBadEscalatesAsBaselineDegradedWithoutAction) {
  Deploy("rel-1", "checkout");
  Samples("checkout", "v1", 0.20, 10);
  Samples("checkout", "v2", 0.21, 10);
  ASSERT_EQ(AwaitStatusChange("rel-1"), "escalated");
  EXPECT_TRUE(Actions("rel-1").empty());
  auto escalations = Escalations("rel-1");
  ASSERT_EQ(escalations.size(), 1u);
  const auto reasons = Reasons(escalations[0]);
  EXPECT_TRUE(Contains(reasons, "conflict.baseline_degraded"));
  EXPECT_TRUE(Contains(reasons, "signal.breach"));
  EXPECT_EQ(escalations[0].at("state").as_string(), "pending");
  EXPECT_EQ(escalations[0].at("required_approvals").as_int64(), 1);
  EXPECT_EQ(escalations[0].at("proposed_action").at("type").as_string(), "rollback");
  EXPECT_EQ(escalations[0].at("proposed_action").at("to_version").as_string(), "v1");
  EXPECT_EQ(escalations[0].at("evidence").at("verdict").as_string(), "conflict");
  EXPECT_NE(std::string(escalations[0].at("summary").as_string()).find("possible dependency outage"),
            std::string::npos);
}

TEST_F(EvaluationTest, DisagreeingSourcesEscalate) {
  Deploy("rel-1", "checkout");
  // One batch, so no evaluation can see one source without the other.
  std::string lb = TelemetryBatch("checkout", "v2", 0.20, 10, "lb");
  const std::string app = TelemetryBatch("checkout", "v2", 0.01, 10, "app");
  const std::string both = lb.substr(0, lb.size() - 2) + "," + app.substr(std::string(R"({"samples":[)").size());
  ASSERT_EQ(server->Request("POST", "/v1/telemetry", deployer, both).status, 202);
  ASSERT_EQ(AwaitStatusChange("rel-1"), "escalated");
  EXPECT_TRUE(Actions("rel-1").empty());
  auto escalations = Escalations("rel-1");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_TRUE(Contains(Reasons(escalations[0]), "conflict.source_disagreement"));
}

std::string ShortClass() {
  return "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1s\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

TEST_F(EvaluationTest, HealthyAfterDurationWithEvidence) {
  Start(ShortClass());
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.001, 10);
  ASSERT_EQ(AwaitStatusChange("rel-1"), "healthy");
  const auto decisions = Release("rel-1").at("decisions").as_array();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "healthy");
  EXPECT_TRUE(Actions("rel-1").empty());
}

TEST_F(EvaluationTest, NoEvidenceAtDurationEscalatesInsteadOfPassing) {
  Start(ShortClass());
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.001, 2);  // fewer than min_samples
  ASSERT_EQ(AwaitStatusChange("rel-1"), "escalated");
  EXPECT_TRUE(Contains(Reasons(Escalations("rel-1")[0]), "telemetry.insufficient"));
  EXPECT_TRUE(Actions("rel-1").empty());
}

TEST_F(EvaluationTest, TooFewSamplesDecideNothing) {
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.90, 3);
  Tick();
  Tick();
  const auto rel = Release("rel-1");
  EXPECT_EQ(rel.at("status").as_string(), "evaluating");
  EXPECT_TRUE(rel.at("decisions").as_array().empty());
  EXPECT_EQ(rel.at("evaluation").at("verdict").as_string(), "insufficient");
  EXPECT_TRUE(Actions("rel-1").empty());
  EXPECT_TRUE(Escalations("rel-1").empty());
}

TEST_F(EvaluationTest, BlastRadiusReasonsEscalate) {
  Deploy("rel-1", "checkout", R"(,"traffic_percent":50)");
  Deploy("rel-2", "search", R"(,"shared_infrastructure":true)");
  for (const char* s : {"checkout", "search"}) Samples(s, "v2", 0.5, 10);
  ASSERT_EQ(AwaitStatusChange("rel-1"), "escalated");
  ASSERT_EQ(AwaitStatusChange("rel-2"), "escalated");
  EXPECT_TRUE(Contains(Reasons(Escalations("rel-1")[0]), "blast_radius.traffic_exceeds_limit"));
  EXPECT_TRUE(Contains(Reasons(Escalations("rel-2")[0]), "blast_radius.shared_infrastructure"));
  EXPECT_TRUE(Actions("rel-1").empty());
  EXPECT_TRUE(Actions("rel-2").empty());
}

TEST_F(EvaluationTest, ThirdAutoRollbackPastABudgetOfTwoEscalates) {
  Start(WebClass("auto", 2));
  for (const char* s : {"a", "b", "c"}) {
    Deploy(std::string("rel-") + s, s);
    Samples(s, "v2", 0.5, 10);
    AwaitStatusChange(std::string("rel-") + s);
  }
  EXPECT_TRUE(IsRollbackStatus(Release("rel-a").at("status").as_string()));
  EXPECT_TRUE(IsRollbackStatus(Release("rel-b").at("status").as_string()));
  EXPECT_EQ(Release("rel-c").at("status").as_string(), "escalated");
  EXPECT_TRUE(Contains(Reasons(Escalations("rel-c")[0]), "budget.exhausted"));
  EXPECT_TRUE(Actions("rel-c").empty());
}

TEST_F(EvaluationTest, ApprovalClassEscalatesWithPolicyReason) {
  Start(WebClass("approval"));
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.5, 10);
  ASSERT_EQ(AwaitStatusChange("rel-1"), "escalated");
  EXPECT_TRUE(Contains(Reasons(Escalations("rel-1")[0]), "policy.approval_required"));
}

TEST_F(EvaluationTest, FreezeEscalatesWhatWouldRollBack) {
  ASSERT_EQ(server->Request("PUT", "/v1/mode", admin, R"({"mode":"freeze"})").status, 200);
  Tick();  // a tick picks the mode up; the commit reads it anyway
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.5, 10);
  ASSERT_EQ(AwaitStatusChange("rel-1"), "escalated");
  auto reasons = Reasons(Escalations("rel-1")[0]);
  EXPECT_TRUE(Contains(reasons, "mode.freeze"));
  EXPECT_TRUE(Contains(reasons, "signal.breach"));
  EXPECT_TRUE(Actions("rel-1").empty());
}

TEST_F(EvaluationTest, DryRunRecordsWouldRollbackOnceAndExecutesNothing) {
  ASSERT_EQ(server->Request("PUT", "/v1/mode", admin, R"({"mode":"dry_run"})").status, 200);
  Tick();
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.5, 10);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  boost::json::array decisions;
  while (decisions.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    decisions = Release("rel-1").at("decisions").as_array();
  }
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "would_rollback");
  Tick();  // more ticks record nothing more
  Tick();
  EXPECT_EQ(Release("rel-1").at("decisions").as_array().size(), 1u);
  EXPECT_EQ(Release("rel-1").at("status").as_string(), "evaluating");
  EXPECT_TRUE(Actions("rel-1").empty());

  // Back to normal: the next evaluation decides for real.
  ASSERT_EQ(server->Request("PUT", "/v1/mode", admin, R"({"mode":"normal"})").status, 200);
  Samples("checkout", "v2", 0.5, 5);
  EXPECT_TRUE(IsRollbackStatus(AwaitStatusChange("rel-1")));
  EXPECT_EQ(Actions("rel-1").size(), 1u);
}

TEST_F(EvaluationTest, RestartMidEvaluationResumesAndDecidesOnce) {
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.5, 3);  // not enough yet
  // A second process on the same database, then the first goes away.
  auto c = TestConfig(server->db().url());
  c.thresholds_dir = dir.path();
  c.evaluation_tick = Millis(100);
  app::App second(c);
  ASSERT_TRUE(second.Start().ok());
  server->app().Stop();
  second.evaluator().TickNow();  // the second reloads the release from PostgreSQL
  const std::string body = TelemetryBatch("checkout", "v2", 0.5, 10);
  http::HttpClient client("127.0.0.1", second.port());
  auto r = client.Send({"POST", "/v1/telemetry", {{"Authorization", "Bearer " + deployer},
                                                  {"Content-Type", "application/json"}}, body});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 202);
  EXPECT_EQ(AwaitActionRows("rel-1"), 1);
  second.evaluator().TickNow();
  auto conn = server->db().Connect();
  pqxx::read_transaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM decisions WHERE release_id = 'rel-1'")[0].as<int>(), 1);
  second.Stop();
}

// Several processes, one database: one holds the evaluator lease; a standby
// answers telemetry with 503 and fails /readyz, and takes over when the
// active one goes away.
TEST_F(EvaluationTest, StandbyRefusesTelemetryAndTakesOverWhenTheActiveStops) {
  auto c = TestConfig(server->db().url());
  c.thresholds_dir = dir.path();
  c.evaluation_tick = Millis(100);
  app::App standby(c);
  ASSERT_TRUE(standby.Start().ok());
  Deploy("rel-1", "checkout");
  const std::string body = TelemetryBatch("checkout", "v2", 0.5, 10);
  http::HttpClient client("127.0.0.1", standby.port());
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + deployer},
                                                           {"Content-Type", "application/json"}};
  auto refused = client.Send({"POST", "/v1/telemetry", h, body});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 503);
  EXPECT_FALSE(refused->Header("Retry-After").empty());
  EXPECT_EQ(client.Send({"GET", "/readyz", {}, ""})->status, 503);
  EXPECT_EQ(server->Request("GET", "/readyz").status, 200);

  // The active one goes away; the standby takes the lease within a few ticks.
  server->app().Stop();
  int status = 0;
  for (int i = 0; i < 100 && status != 202; ++i) {
    std::this_thread::sleep_for(50ms);
    status = client.Send({"POST", "/v1/telemetry", h, body})->status;
  }
  ASSERT_EQ(status, 202);
  EXPECT_EQ(client.Send({"GET", "/readyz", {}, ""})->status, 200);
  EXPECT_EQ(AwaitActionRows("rel-1"), 1);
  standby.Stop();
}

// Issue 16: three samples of 1.7e308 are finite, but their plain sum is not.
// The mean must not overflow, the decision must commit at the first
// evaluation, and no answer may carry a bare `Infinity`.
TEST_F(EvaluationTest, SamplesNearTheDoubleMaximumRollBackWithinOneTickAndEveryAnswerIsJson) {
  Deploy("rel-1", "checkout");
  std::string body = R"({"samples":[)";
  for (int i = 0; i < 5; ++i) {
    body += std::string(i ? "," : "") +
            R"({"service":"checkout","environment":"prod","version":"v2","signal":"http_5xx_ratio","value":1.7e308})";
  }
  body += "]}";
  auto posted = server->Request("POST", "/v1/telemetry", deployer, body);
  ASSERT_EQ(posted.status, 202) << posted.body;
  ASSERT_EQ(ParseJson(posted.body).at("accepted").as_int64(), 5);
  Tick();

  EXPECT_TRUE(IsRollbackStatus(std::string(Release("rel-1").at("status").as_string())));
  for (const char* target : {"/v1/releases/rel-1", "/v1/releases", "/v1/releases?service=checkout",
                             "/v1/actions?release_id=rel-1", "/v1/escalations", "/v1/audit?release_id=rel-1"}) {
    auto r = server->Request("GET", target, admin);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    boost::system::error_code ec;
    (void)boost::json::parse(r.body, ec);  // strict: no Infinity, no NaN
    EXPECT_FALSE(ec) << target << " is not JSON: " << r.body;
  }
  const auto signal = Release("rel-1").at("evaluation").at("signals").at(0);
  EXPECT_DOUBLE_EQ(signal.at("canary").at("value").to_number<double>(), 1.7e308);
  auto conn = server->db().Connect();
  pqxx::read_transaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM decisions WHERE release_id = 'rel-1' AND decision = 'auto_rollback'")[0]
                .as<int>(),
            1);
}

// A decision the database refuses is retried each tick, but visibly: counted
// in backstop_decision_commit_failures_total and listed by /readyz until it
// commits.
TEST_F(EvaluationTest, DecisionThatCannotCommitIsCountedAndListedByReadyzUntilItCommits) {
  const auto failures = [this] {
    const std::string text = server->Request("GET", "/metrics").body;
    const std::string name = "\nbackstop_decision_commit_failures_total ";
    const auto at = text.find(name);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size()));
  };
  EXPECT_EQ(failures(), 0.0);
  {
    pqxx::connection admin_conn(server->db().admin_url());
    pqxx::work tx(admin_conn);
    tx.exec0(
        "CREATE FUNCTION test_refuse_decision() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$");
    tx.exec0("CREATE TRIGGER test_refuse_decision BEFORE INSERT ON decisions "
             "FOR EACH ROW EXECUTE FUNCTION test_refuse_decision()");
    tx.commit();
  }
  Deploy("rel-1", "checkout");
  Samples("checkout", "v2", 0.5, 10);
  // Each evaluation tries again (bounded: the scheduler ticks too).
  for (int i = 0; i < 50 && failures() < 2.0; ++i) Tick();
  EXPECT_EQ(std::string(Release("rel-1").at("status").as_string()), "evaluating");
  EXPECT_GE(failures(), 2.0);
  auto ready = ParseJson(server->Request("GET", "/readyz").body);
  EXPECT_EQ(ready.at("uncommitted_decisions").at("count").as_int64(), 1) << ready;
  EXPECT_EQ(ready.at("uncommitted_decisions").at("releases").at(0).as_string(), "rel-1") << ready;

  {
    pqxx::connection admin_conn(server->db().admin_url());
    pqxx::work tx(admin_conn);
    tx.exec0("DROP TRIGGER test_refuse_decision ON decisions");
    tx.commit();
  }
  Tick();
  EXPECT_TRUE(IsRollbackStatus(AwaitStatusChange("rel-1")));
  ready = ParseJson(server->Request("GET", "/readyz").body);
  EXPECT_EQ(ready.at("uncommitted_decisions").at("count").as_int64(), 0) << ready;
}

}  // namespace
}  // namespace backstop::testing
