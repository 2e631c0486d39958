// The gate steps of the workflow (workflow/gate_flow) against the real
// database, without a server: a gate action is never claimed by the outbox,
// is handed out once through the claim/complete path every executor uses,
// and fails through the same path's failure branch when nobody picks it up.

#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "backstop/policy/threshold_parser.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/evaluator_lease_repository.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/store/threshold_repository.hpp"
#include "backstop/workflow/action_outcome.hpp"
#include "backstop/workflow/decision_commit.hpp"
#include "backstop/workflow/gate_flow.hpp"
#include "backstop/workflow/release_registration.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kClass =
    "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
    "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
    "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";

config::Config WithExecutor(config::ExecutorType type, Millis timeout) {
  config::Config c;
  config::ExecutorConfig e;
  e.match = "*";
  e.type = type;
  e.timeout = timeout;
  c.executors = {e};
  return c;
}

class GateFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = db_.Connect();
    pqxx::work tx(*conn_);
    const policy::ParseResult parsed = policy::ParseThresholdYaml(kClass, "web.yaml");
    ASSERT_TRUE(parsed.set);
    ASSERT_EQ(store::ThresholdRepository::Store(tx, "web.yaml", parsed, "test").result, "loaded");
    tx.commit();
    registry_.Replace({*parsed.set});
  }

  // checkout v2 (from v1) registered and auto-rolled back to a gate executor.
  void BreachToGate(const std::string& id) {
    store::NewRelease r;
    r.id = id;
    r.id_from_client = true;
    r.service = "checkout";
    r.environment = "prod";
    r.version = "v2";
    r.previous_version = "v1";
    r.release_class = "web";
    r.traffic_percent = 10;
    r.request_body = R"({"id":")" + id + R"("})";
    {
      pqxx::work tx(*conn_);
      ASSERT_TRUE(workflow::RegisterRelease(tx, {}, r, "ci-bot").ok());
      tx.commit();
    }
    pqxx::work lease_tx(*conn_);
    const auto epoch = store::EvaluatorLeaseRepository::Acquire(lease_tx, "evaluator-a", 10min);
    lease_tx.commit();
    ASSERT_TRUE(epoch.has_value());
    const TimePoint now = NowMicros();
    decision::SeriesPair series{"http_5xx_ratio", "default", {}, {}};
    for (int i = 0; i < 5; ++i) series.canary.push_back({now - std::chrono::seconds(i), 0.5});
    const decision::TelemetrySnapshot telemetry{{series}};
    const decision::EvaluationHistory history;
    pqxx::work tx(*conn_);
    const auto committed = workflow::CommitDecision(
        tx, workflow::LeaseFence{"evaluator-a", *epoch}, {},
        workflow::DecisionInput{id, *registry_.Find("web", 1), telemetry, history, now, "gate"});
    tx.commit();
    ASSERT_EQ(committed.kind, decision::DecisionKind::kAutoRollback);
  }

  domain::ReleaseStatus Status(const std::string& id) {
    pqxx::read_transaction tx(*conn_);
    return store::ReleaseRepository::Find(tx, id)->status;
  }

  store::ActionRow OnlyAction(const std::string& id) {
    pqxx::read_transaction tx(*conn_);
    const auto page = store::ActionRepository::List(tx, id, std::nullopt, 10);
    EXPECT_EQ(page.items.size(), 1u);
    return page.items.front();
  }

  std::optional<workflow::HandedOut> HandOut(const std::string& id) {
    pqxx::work tx(*conn_);
    store::ReleaseRepository::Lock(tx, id);
    auto out = workflow::HandOutGateAction(tx, registry_, {}, id, integrations::Orchestrator::kFlagger);
    tx.commit();
    return out;
  }

  TestDatabase db_;
  std::unique_ptr<pqxx::connection> conn_;
  policy::PolicyRegistry registry_;
};

TEST_F(GateFlowTest, AGateActionIsNeverClaimedByTheOutboxAndIsHandedOutOnce) {
  BreachToGate("rel-1");
  {
    pqxx::work tx(*conn_);
    EXPECT_FALSE(workflow::ClaimNextAction(tx, "worker-a", 30s).has_value());
    tx.commit();
  }
  EXPECT_EQ(OnlyAction("rel-1").state, domain::ActionState::kPending);

  const auto handed = HandOut("rel-1");
  ASSERT_TRUE(handed.has_value());
  EXPECT_EQ(handed->decided_by, "auto");
  const auto action = OnlyAction("rel-1");
  EXPECT_EQ(action.id, handed->action_id);
  EXPECT_EQ(action.state, domain::ActionState::kSucceeded);
  EXPECT_EQ(action.attempts, 1);
  EXPECT_EQ(action.executor, "gate");
  EXPECT_EQ(Status("rel-1"), domain::ReleaseStatus::kRolledBack);
  {
    pqxx::read_transaction tx(*conn_);
    const auto worker = tx.exec_params1("SELECT worker FROM action_attempts WHERE action_id = $1", action.id);
    EXPECT_EQ(worker[0].as<std::string>(), "flagger");
  }
  EXPECT_FALSE(HandOut("rel-1").has_value());
}

TEST_F(GateFlowTest, AGateActionWithinItsTimeoutIsLeftAlone) {
  BreachToGate("rel-1");
  const auto failed =
      workflow::FailOverdueGateActions(*conn_, WithExecutor(config::ExecutorType::kGate, 1h), registry_, "sweeper");
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(OnlyAction("rel-1").state, domain::ActionState::kPending);
  EXPECT_EQ(Status("rel-1"), domain::ReleaseStatus::kRollingBack);
}

TEST_F(GateFlowTest, AnOverdueGateActionFailsAndAsksAHuman) {
  BreachToGate("rel-1");
  const auto failed = workflow::FailOverdueGateActions(*conn_, WithExecutor(config::ExecutorType::kGate, Millis(0)),
                                                       registry_, "sweeper");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].release_id, "rel-1");
  const auto action = OnlyAction("rel-1");
  EXPECT_EQ(action.state, domain::ActionState::kFailed);
  EXPECT_NE(action.last_error.value_or("").find("not handed out within"), std::string::npos);
  EXPECT_EQ(Status("rel-1"), domain::ReleaseStatus::kRollbackFailed);
  pqxx::read_transaction tx(*conn_);
  store::EscalationQuery q;
  q.release_id = "rel-1";
  const auto escalations = store::EscalationRepository::List(tx, q);
  ASSERT_EQ(escalations.items.size(), 1u);
  EXPECT_EQ(escalations.items[0].reasons, std::vector<decision::ReasonCode>{decision::ReasonCode::kRollbackFailed});
  EXPECT_EQ(escalations.items[0].state, domain::EscalationState::kPending);
}

TEST_F(GateFlowTest, AGateActionOfAServiceNoLongerOnAGateFailsAtOnce) {
  BreachToGate("rel-1");
  const auto failed =
      workflow::FailOverdueGateActions(*conn_, WithExecutor(config::ExecutorType::kLog, 1h), registry_, "sweeper");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].error.find("no gate executor matches service checkout"), std::string::npos);
  EXPECT_EQ(Status("rel-1"), domain::ReleaseStatus::kRollbackFailed);
}

}  // namespace
}  // namespace backstop::testing
