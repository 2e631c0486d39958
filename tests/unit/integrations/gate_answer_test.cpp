#include "backstop/integrations/gate_answer.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace backstop::integrations {
namespace {

using decision::DecisionKind;
using decision::ReasonCode;
using domain::ActionState;
using domain::DecidedBy;
using domain::ReleaseStatus;

RollbackFact GateAction(ActionState state, DecidedBy by, std::vector<ReasonCode> reasons = {ReasonCode::kSignalBreach},
                        std::optional<std::string> escalation = std::nullopt) {
  return RollbackFact{state, by, /*gate_executor=*/true, std::move(reasons), std::move(escalation)};
}

// One row of the Argo table: the facts and the answer they must give.
struct GateCase {
  std::string name;
  GateFacts facts;
  Gate gate;
  std::vector<ReasonCode> reasons;
  std::optional<std::string> escalation_id;
  std::optional<Gate> would;
  bool hand_out = false;
};

void PrintTo(const GateCase& c, std::ostream* os) { *os << c.name; }

GateFacts Facts(ReleaseStatus status, Mode mode = Mode::kNormal) {
  GateFacts f;
  f.status = status;
  f.mode = mode;
  return f;
}

std::vector<GateCase> GateTable() {
  std::vector<GateCase> cases;
  cases.push_back({"EvaluatingProceeds", Facts(ReleaseStatus::kEvaluating), Gate::kProceed, {}, {}, {}, false});
  cases.push_back({"HealthyProceeds", Facts(ReleaseStatus::kHealthy), Gate::kProceed, {}, {}, {}, false});
  cases.push_back({"RejectedRollbackProceeds", Facts(ReleaseStatus::kRollbackRejected), Gate::kProceed, {}, {}, {},
                   false});
  {
    GateFacts f = Facts(ReleaseStatus::kEscalated);
    f.pending_escalation = EscalationFact{"esc-1", {ReasonCode::kSignalBreach, ReasonCode::kConflictBaselineDegraded}};
    f.latest_escalation = f.pending_escalation;
    cases.push_back({"PendingEscalationHoldsWithItsReasons", f, Gate::kHold,
                     {ReasonCode::kSignalBreach, ReasonCode::kConflictBaselineDegraded}, "esc-1", {}, false});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kEscalated);
    f.latest_escalation = EscalationFact{"esc-old", {ReasonCode::kConflictFlapping}};
    cases.push_back({"ExpiredQuestionStillHolds", f, Gate::kHold, {ReasonCode::kConflictFlapping}, {}, {}, false});
  }
  cases.push_back({"FreezeHoldsAnEvaluatingRelease", Facts(ReleaseStatus::kEvaluating, Mode::kFreeze), Gate::kHold,
                   {ReasonCode::kModeFreeze}, {}, {}, false});
  cases.push_back({"FreezeHoldsAHealthyRelease", Facts(ReleaseStatus::kHealthy, Mode::kFreeze), Gate::kHold,
                   {ReasonCode::kModeFreeze}, {}, {}, false});
  {
    GateFacts f = Facts(ReleaseStatus::kRollingBack);
    f.rollback = GateAction(ActionState::kPending, DecidedBy::kAuto);
    cases.push_back({"AutoRollbackHandsOutTheGateAction", f, Gate::kRollback, {ReasonCode::kSignalBreach}, {}, {},
                     true});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kRollingBack, Mode::kFreeze);
    f.rollback = GateAction(ActionState::kPending, DecidedBy::kAuto);
    cases.push_back({"FreezeWithholdsAnAutomaticRollback", f, Gate::kHold, {ReasonCode::kModeFreeze}, {}, {}, false});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kRollingBack, Mode::kFreeze);
    f.rollback = GateAction(ActionState::kPending, DecidedBy::kApproval, {ReasonCode::kConflictBaselineDegraded},
                            "esc-7");
    cases.push_back({"FreezeStillHandsOutAnApprovedRollback", f, Gate::kRollback,
                     {ReasonCode::kConflictBaselineDegraded}, "esc-7", {}, true});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kRollingBack);
    f.rollback = RollbackFact{ActionState::kRunning, DecidedBy::kAuto, /*gate_executor=*/false,
                              {ReasonCode::kSignalBreach}, std::nullopt};
    cases.push_back({"WebhookRollbackInFlightSaysRollbackWithoutHandOut", f, Gate::kRollback,
                     {ReasonCode::kSignalBreach}, {}, {}, false});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kRolledBack, Mode::kFreeze);
    f.rollback = GateAction(ActionState::kSucceeded, DecidedBy::kApproval, {ReasonCode::kSignalBreach}, "esc-2");
    cases.push_back({"RolledBackStaysRollbackEvenFrozen", f, Gate::kRollback, {ReasonCode::kSignalBreach}, "esc-2",
                     {}, false});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kRollbackFailed);
    f.pending_escalation = EscalationFact{"esc-3", {ReasonCode::kRollbackFailed}};
    cases.push_back({"FailedRollbackHoldsOnItsQuestion", f, Gate::kHold, {ReasonCode::kRollbackFailed}, "esc-3", {},
                     false});
  }
  cases.push_back({"FailedRollbackWithoutQuestionHolds", Facts(ReleaseStatus::kRollbackFailed), Gate::kHold,
                   {ReasonCode::kRollbackFailed}, {}, {}, false});
  cases.push_back({"SupersededHolds", Facts(ReleaseStatus::kSuperseded), Gate::kHold, {}, {}, {}, false});
  {
    GateFacts f = Facts(ReleaseStatus::kEvaluating, Mode::kDryRun);
    f.dry_run = DecisionKind::kWouldRollback;
    cases.push_back({"DryRunWouldRollbackProceeds", f, Gate::kProceed, {}, {}, Gate::kRollback, false});
  }
  {
    GateFacts f = Facts(ReleaseStatus::kEvaluating, Mode::kDryRun);
    f.dry_run = DecisionKind::kWouldEscalate;
    cases.push_back({"DryRunWouldEscalateProceeds", f, Gate::kProceed, {}, {}, Gate::kHold, false});
  }
  return cases;
}

class GateTableTest : public ::testing::TestWithParam<GateCase> {};

TEST_P(GateTableTest, AnswersAsTheTableSays) {
  const GateCase& c = GetParam();
  const GateAnswer a = AnswerGate(c.facts);
  EXPECT_EQ(a.gate, c.gate);
  EXPECT_EQ(a.reasons, c.reasons);
  EXPECT_EQ(a.escalation_id, c.escalation_id);
  EXPECT_EQ(a.would, c.would);
  EXPECT_EQ(a.hand_out, c.hand_out);
}

INSTANTIATE_TEST_SUITE_P(ArgoRollouts, GateTableTest, ::testing::ValuesIn(GateTable()),
                         [](const ::testing::TestParamInfo<GateCase>& info) { return info.param.name; });

TEST(GateTest, WireNamesAreTheContractStrings) {
  EXPECT_EQ(ToString(Gate::kProceed), "proceed");
  EXPECT_EQ(ToString(Gate::kHold), "hold");
  EXPECT_EQ(ToString(Gate::kRollback), "rollback");
  EXPECT_EQ(ToString(Orchestrator::kArgoRollouts), "argo-rollouts");
  EXPECT_EQ(ToString(Orchestrator::kFlagger), "flagger");
  for (const char* hook :
       {"confirm-rollout", "pre-rollout", "rollout", "confirm-promotion", "rollback", "post-rollout", "event"}) {
    const auto parsed = ParseFlaggerHook(hook);
    ASSERT_TRUE(parsed.has_value()) << hook;
    EXPECT_EQ(ToString(*parsed), hook);
  }
  EXPECT_FALSE(ParseFlaggerHook("confirm-traffic-increase").has_value());
}

// One row of the Flagger table.
struct HookCase {
  std::string name;
  FlaggerHook hook;
  ReleaseStatus status;
  Mode mode;
  GateAnswer gate;
  int http_status;
  std::string code;
  bool hand_out = false;
  bool record_event = false;
};

void PrintTo(const HookCase& c, std::ostream* os) { *os << c.name; }

GateAnswer Answer(Gate g, std::vector<ReasonCode> reasons = {}, bool hand_out = false) {
  GateAnswer a;
  a.gate = g;
  a.reasons = std::move(reasons);
  a.hand_out = hand_out;
  return a;
}

std::vector<HookCase> HookTable() {
  const auto S = ReleaseStatus::kEvaluating;
  const auto N = Mode::kNormal;
  const GateAnswer proceed = Answer(Gate::kProceed);
  const GateAnswer hold = Answer(Gate::kHold, {ReasonCode::kConflictBaselineDegraded});
  const GateAnswer rollback = Answer(Gate::kRollback, {ReasonCode::kSignalBreach}, true);
  return {
      {"PreRolloutAlwaysYes", FlaggerHook::kPreRollout, S, Mode::kFreeze, proceed, 200, ""},
      {"ConfirmRolloutYes", FlaggerHook::kConfirmRollout, S, N, proceed, 200, ""},
      {"ConfirmRolloutNoInFreeze", FlaggerHook::kConfirmRollout, S, Mode::kFreeze, Answer(Gate::kHold), 403, "frozen"},
      {"RolloutYesWhileHolding", FlaggerHook::kRollout, ReleaseStatus::kEscalated, N, hold, 200, ""},
      {"RolloutNoOnceRollbackDecided", FlaggerHook::kRollout, ReleaseStatus::kRollingBack, N, rollback, 403,
       "rollback_decided"},
      {"PromotionNoWhileEvaluating", FlaggerHook::kConfirmPromotion, S, N, proceed, 403, "not_promotable"},
      {"PromotionNoWhileHolding", FlaggerHook::kConfirmPromotion, ReleaseStatus::kEscalated, N, hold, 403,
       "not_promotable"},
      {"PromotionYesWhenHealthy", FlaggerHook::kConfirmPromotion, ReleaseStatus::kHealthy, N, proceed, 200, ""},
      {"PromotionYesWhenKept", FlaggerHook::kConfirmPromotion, ReleaseStatus::kRollbackRejected, N, proceed, 200, ""},
      {"PromotionNoWhenHealthyButFrozen", FlaggerHook::kConfirmPromotion, ReleaseStatus::kHealthy, Mode::kFreeze,
       Answer(Gate::kHold, {ReasonCode::kModeFreeze}), 403, "not_promotable"},
      {"RollbackHookYesHandsOut", FlaggerHook::kRollback, ReleaseStatus::kRollingBack, N, rollback, 200, "", true},
      {"RollbackHookNoWithoutDecision", FlaggerHook::kRollback, S, N, proceed, 403, "no_rollback_decided"},
      {"RollbackHookNoWhileHolding", FlaggerHook::kRollback, ReleaseStatus::kEscalated, N, hold, 403,
       "no_rollback_decided"},
      {"PostRolloutRecorded", FlaggerHook::kPostRollout, S, N, proceed, 202, "", false, true},
      {"EventRecorded", FlaggerHook::kEvent, ReleaseStatus::kRollingBack, N, rollback, 202, "", false, true},
  };
}

class FlaggerHookTableTest : public ::testing::TestWithParam<HookCase> {};

TEST_P(FlaggerHookTableTest, AnswersAsTheTableSays) {
  const HookCase& c = GetParam();
  const HookAnswer a = AnswerFlaggerHook(c.hook, c.status, c.mode, c.gate);
  EXPECT_EQ(a.http_status, c.http_status);
  EXPECT_EQ(a.code, c.code);
  EXPECT_EQ(a.hand_out, c.hand_out);
  EXPECT_EQ(a.record_event, c.record_event);
  if (c.http_status == 403 && c.code != "frozen") {
    EXPECT_EQ(a.reasons, c.gate.reasons);
  }
  if (c.code == "frozen") {
    EXPECT_EQ(a.reasons, std::vector<ReasonCode>{ReasonCode::kModeFreeze});
  }
  if (c.http_status == 403) {
    EXPECT_FALSE(a.message.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Flagger, FlaggerHookTableTest, ::testing::ValuesIn(HookTable()),
                         [](const ::testing::TestParamInfo<HookCase>& info) { return info.param.name; });

config::Config GateConfig(Millis timeout) {
  config::Config c;
  config::ExecutorConfig payments;
  payments.match = "payments-*";
  payments.type = config::ExecutorType::kWebhook;
  config::ExecutorConfig gate;
  gate.match = "*";
  gate.type = config::ExecutorType::kGate;
  gate.timeout = timeout;
  c.executors = {payments, gate};
  return c;
}

TEST(GateActionOverdueTest, WaitsForTheGateExecutorsTimeout) {
  const auto config = GateConfig(std::chrono::minutes(10));
  EXPECT_FALSE(GateActionOverdue(config, "checkout", std::chrono::minutes(9)).has_value());
  const auto why = GateActionOverdue(config, "checkout", std::chrono::minutes(10));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("not handed out within 10m"), std::string::npos) << *why;
}

TEST(GateActionOverdueTest, FailsAtOnceWhenNoGateExecutorMatchesAnyMore) {
  const auto why = GateActionOverdue(GateConfig(std::chrono::minutes(10)), "payments-api", Millis(0));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("no gate executor matches service payments-api"), std::string::npos) << *why;
}

}  // namespace
}  // namespace backstop::integrations
