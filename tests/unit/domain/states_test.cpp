#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backstop/audit/audit_kind.hpp"
#include "backstop/domain/mode.hpp"
#include "backstop/domain/states.hpp"

namespace backstop::domain {
namespace {

// Every enumerator beside the wire string the database CHECK constraints and
// the answers use. A wire string never changes once shipped.
const std::vector<std::pair<ReleaseStatus, std::string_view>> kReleaseStatuses{
    {ReleaseStatus::kEvaluating, "evaluating"},         {ReleaseStatus::kHealthy, "healthy"},
    {ReleaseStatus::kRollingBack, "rolling_back"},      {ReleaseStatus::kRolledBack, "rolled_back"},
    {ReleaseStatus::kRollbackFailed, "rollback_failed"}, {ReleaseStatus::kEscalated, "escalated"},
    {ReleaseStatus::kRollbackRejected, "rollback_rejected"}, {ReleaseStatus::kSuperseded, "superseded"},
};

template <typename E, typename Parse>
void ExpectRoundTrips(const std::vector<std::pair<E, std::string_view>>& table, Parse parse) {
  std::set<std::string_view> seen;
  for (const auto& [value, wire] : table) {
    EXPECT_EQ(ToString(value), wire);
    EXPECT_EQ(parse(wire), value) << wire;
    EXPECT_TRUE(seen.insert(wire).second) << "two enumerators share " << wire;
  }
  for (std::string_view unknown : {"", "unknown", "Pending", " pending", "rolled-back"}) {
    EXPECT_FALSE(parse(unknown).has_value()) << "'" << unknown << "'";
  }
}

TEST(StatesTest, ReleaseStatusesMapToTheirWireStringsAndBack) {
  ExpectRoundTrips(kReleaseStatuses, ParseReleaseStatus);
}

TEST(StatesTest, NotificationStatesMapToTheirWireStringsAndBack) {
  ExpectRoundTrips<NotificationState>({{NotificationState::kPending, "pending"},
                                       {NotificationState::kRunning, "running"},
                                       {NotificationState::kSucceeded, "succeeded"},
                                       {NotificationState::kFailed, "failed"}},
                                      ParseNotificationState);
}

TEST(StatesTest, NotificationEventsMapToTheirWireStringsAndBack) {
  using E = NotificationEvent;
  const std::vector<std::pair<E, std::string_view>> events{
      {E::kEscalationOpened, "escalation.opened"},       {E::kEscalationApproved, "escalation.approved"},
      {E::kEscalationRejected, "escalation.rejected"},   {E::kEscalationExpired, "escalation.expired"},
      {E::kEscalationSuperseded, "escalation.superseded"}, {E::kActionSucceeded, "action.succeeded"},
      {E::kActionFailed, "action.failed"},               {E::kRollbackFailed, "rollback.failed"},
      {E::kRollbackIneffective, "rollback.ineffective"},
  };
  ExpectRoundTrips(events, ParseNotificationEvent);
  EXPECT_EQ(AllNotificationEvents().size(), events.size());
  int ending = 0;
  for (const auto e : AllNotificationEvents()) ending += EndsEscalation(e) ? 1 : 0;
  EXPECT_EQ(ending, 4);  // approved, rejected, expired, superseded
  EXPECT_FALSE(EndsEscalation(E::kEscalationOpened));
}

TEST(StatesTest, EscalationStatesMapToTheirWireStringsAndBack) {
  ExpectRoundTrips<EscalationState>({{EscalationState::kPending, "pending"},
                                     {EscalationState::kApproved, "approved"},
                                     {EscalationState::kRejected, "rejected"},
                                     {EscalationState::kExpired, "expired"},
                                     {EscalationState::kSuperseded, "superseded"}},
                                    ParseEscalationState);
}

TEST(StatesTest, ActionStatesMapToTheirWireStringsAndBack) {
  ExpectRoundTrips<ActionState>({{ActionState::kPending, "pending"},
                                 {ActionState::kRunning, "running"},
                                 {ActionState::kSucceeded, "succeeded"},
                                 {ActionState::kFailed, "failed"}},
                                ParseActionState);
}

TEST(StatesTest, DecidedByMapsToItsWireStringsAndBack) {
  ExpectRoundTrips<DecidedBy>({{DecidedBy::kAuto, "auto"}, {DecidedBy::kApproval, "approval"}}, ParseDecidedBy);
}

TEST(StatesTest, ModesMapToTheirWireStringsAndBack) {
  for (const auto& [mode, wire] : std::vector<std::pair<Mode, std::string_view>>{
           {Mode::kNormal, "normal"}, {Mode::kDryRun, "dry_run"}, {Mode::kFreeze, "freeze"}}) {
    EXPECT_EQ(ModeName(mode), wire);
    EXPECT_EQ(ParseMode(wire), mode);
  }
  EXPECT_FALSE(ParseMode("dry-run").has_value());
}

// The moves DESIGN allows, by the step that makes them: a decision, an
// approval or rejection, an action outcome, a newer registration.
TEST(StatesTest, LegalReleaseMovesAreExactlyTheDesignedOnes) {
  using S = ReleaseStatus;
  const std::set<std::pair<S, S>> legal{
      // decision commit (escalated -> escalated: an expired question is asked again)
      {S::kEvaluating, S::kHealthy}, {S::kEvaluating, S::kRollingBack}, {S::kEvaluating, S::kEscalated},
      {S::kEscalated, S::kHealthy}, {S::kEscalated, S::kRollingBack}, {S::kEscalated, S::kEscalated},
      // approval flow
      {S::kEscalated, S::kRollbackRejected}, {S::kRollbackFailed, S::kRollingBack},
      {S::kRollbackFailed, S::kRollbackRejected},
      // action outcome
      {S::kRollingBack, S::kRolledBack}, {S::kRollingBack, S::kRollbackFailed},
      // registration of a newer release
      {S::kEvaluating, S::kSuperseded}, {S::kEscalated, S::kSuperseded}, {S::kRollbackRejected, S::kSuperseded},
      {S::kRollbackFailed, S::kSuperseded},
  };
  for (const auto& [from, from_wire] : kReleaseStatuses) {
    for (const auto& [to, to_wire] : kReleaseStatuses) {
      EXPECT_EQ(IsLegalTransition(from, to), legal.count({from, to}) == 1) << from_wire << " -> " << to_wire;
    }
  }
}

TEST(StatesTest, FinishedReleasesNeverMoveAndNothingReturnsToEvaluating) {
  for (const auto& [to, to_wire] : kReleaseStatuses) {
    for (const auto finished : {ReleaseStatus::kHealthy, ReleaseStatus::kRolledBack, ReleaseStatus::kSuperseded}) {
      EXPECT_FALSE(IsLegalTransition(finished, to)) << ToString(finished) << " -> " << to_wire;
    }
    EXPECT_FALSE(IsLegalTransition(to, ReleaseStatus::kEvaluating)) << to_wire << " -> evaluating";
  }
  // A rollback in flight is never superseded: its outcome is still to be recorded.
  EXPECT_FALSE(IsLegalTransition(ReleaseStatus::kRollingBack, ReleaseStatus::kSuperseded));
}

TEST(StatesTest, OnlyEvaluatingAndEscalatedReleasesAreEvaluated) {
  for (const auto& [status, wire] : kReleaseStatuses) {
    EXPECT_EQ(IsEvaluable(status), status == ReleaseStatus::kEvaluating || status == ReleaseStatus::kEscalated)
        << wire;
  }
}

}  // namespace
}  // namespace backstop::domain

namespace backstop::audit {
namespace {

TEST(AuditKindTest, EveryKindMapsToItsWireStringAndBack) {
  const std::vector<std::pair<AuditKind, std::string_view>> kinds{
      {AuditKind::kReleaseRegistered, "release.registered"},
      {AuditKind::kReleaseSuperseded, "release.superseded"},
      {AuditKind::kReleaseTrafficChanged, "release.traffic_changed"},
      {AuditKind::kThresholdsLoaded, "thresholds.loaded"},
      {AuditKind::kThresholdsRejected, "thresholds.rejected"},
      {AuditKind::kDecisionAutoRollback, "decision.auto_rollback"},
      {AuditKind::kDecisionEscalate, "decision.escalate"},
      {AuditKind::kDecisionWouldRollback, "decision.would_rollback"},
      {AuditKind::kDecisionWouldEscalate, "decision.would_escalate"},
      {AuditKind::kDecisionHealthy, "decision.healthy"},
      {AuditKind::kEscalationOpened, "escalation.opened"},
      {AuditKind::kEscalationApprovalRecorded, "escalation.approval_recorded"},
      {AuditKind::kEscalationApproved, "escalation.approved"},
      {AuditKind::kEscalationRejected, "escalation.rejected"},
      {AuditKind::kEscalationExpired, "escalation.expired"},
      {AuditKind::kEscalationSuperseded, "escalation.superseded"},
      {AuditKind::kActionAttempted, "action.attempted"},
      {AuditKind::kActionAttemptFailed, "action.attempt_failed"},
      {AuditKind::kActionSucceeded, "action.succeeded"},
      {AuditKind::kActionFailed, "action.failed"},
      {AuditKind::kActionHandedOut, "action.handed_out"},
      {AuditKind::kModeChanged, "mode.changed"},
      {AuditKind::kTokenCreated, "token.created"},
      {AuditKind::kTokenRevoked, "token.revoked"},
      {AuditKind::kIntegrationEvent, "integration.event"},
  };
  std::set<std::string_view> seen;
  for (const auto& [kind, wire] : kinds) {
    EXPECT_EQ(ToString(kind), wire);
    EXPECT_EQ(ParseAuditKind(wire), kind) << wire;
    EXPECT_TRUE(seen.insert(wire).second) << wire;
  }
  EXPECT_FALSE(ParseAuditKind("").has_value());
  EXPECT_FALSE(ParseAuditKind("release_registered").has_value());
}

TEST(AuditKindTest, EachDecisionIsAuditedUnderItsOwnKind) {
  using decision::DecisionKind;
  EXPECT_EQ(DecisionAuditKind(DecisionKind::kAutoRollback), AuditKind::kDecisionAutoRollback);
  EXPECT_EQ(DecisionAuditKind(DecisionKind::kEscalate), AuditKind::kDecisionEscalate);
  EXPECT_EQ(DecisionAuditKind(DecisionKind::kWouldRollback), AuditKind::kDecisionWouldRollback);
  EXPECT_EQ(DecisionAuditKind(DecisionKind::kWouldEscalate), AuditKind::kDecisionWouldEscalate);
  EXPECT_EQ(DecisionAuditKind(DecisionKind::kHealthy), AuditKind::kDecisionHealthy);
  // The audit kind names the decision's wire string.
  for (const auto kind : {DecisionKind::kAutoRollback, DecisionKind::kEscalate, DecisionKind::kWouldRollback,
                          DecisionKind::kWouldEscalate, DecisionKind::kHealthy}) {
    EXPECT_EQ(ToString(DecisionAuditKind(kind)), "decision." + std::string(decision::ToString(kind)));
  }
  EXPECT_THROW((void)DecisionAuditKind(DecisionKind::kNone), std::logic_error);
}

}  // namespace
}  // namespace backstop::audit
