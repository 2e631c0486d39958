#include <gtest/gtest.h>

#include "backstop/approvals/approval_rules.hpp"

namespace backstop::approvals {
namespace {

ApprovalFacts Allowed() {
  ApprovalFacts f;
  f.escalation_state = domain::EscalationState::kPending;
  f.actor = "sre-1";
  f.deployed_by = "ci-bot";
  f.triggered_by = "alice";
  f.proposed_from_version = "v2";
  f.proposed_to_version = "v1";
  f.release_version = "v2";
  f.release_previous_version = "v1";
  return f;
}

std::string CodeOf(const std::optional<Error>& e) { return e ? e->code : "ok"; }

TEST(ApprovalRulesTest, AllowsADistinctApproverOnAPendingEscalation) {
  EXPECT_EQ(CodeOf(CheckDecision(Allowed(), Verdict::kApprove)), "ok");
  EXPECT_EQ(CodeOf(CheckDecision(Allowed(), Verdict::kReject)), "ok");
}

TEST(ApprovalRulesTest, NotPendingAnswersWithTheStateAsCode) {
  for (const char* state : {"approved", "rejected", "expired", "superseded"}) {
    auto f = Allowed();
    f.escalation_state = *domain::ParseEscalationState(state);
    auto e = CheckDecision(f, Verdict::kApprove);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, state);
    EXPECT_EQ(e->kind, ErrorKind::kConflict);
  }
}

TEST(ApprovalRulesTest, PastExpiryIsExpired) {
  auto f = Allowed();
  f.expired_now = true;
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "expired");
}

TEST(ApprovalRulesTest, DeployerAndTriggererMayNotDecide) {
  for (const char* who : {"ci-bot", "alice"}) {
    auto f = Allowed();
    f.actor = who;
    auto e = CheckDecision(f, Verdict::kApprove);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, "separation_of_duties");
    EXPECT_EQ(e->kind, ErrorKind::kForbidden);
    EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kReject)), "separation_of_duties");
  }
}

TEST(ApprovalRulesTest, SecondApprovalBySameIdentityIsRefused) {
  auto f = Allowed();
  f.approvers = {"sre-1"};
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "already_approved");
  f.actor = "sre-2";
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "ok");
}

TEST(ApprovalRulesTest, ChangedIntentIsRefused) {
  auto superseded = Allowed();
  superseded.release_is_current = false;
  EXPECT_EQ(CodeOf(CheckDecision(superseded, Verdict::kApprove)), "intent_changed");
  auto other_version = Allowed();
  other_version.release_version = "v3";
  EXPECT_EQ(CodeOf(CheckDecision(other_version, Verdict::kApprove)), "intent_changed");
  auto other_target = Allowed();
  other_target.release_previous_version = "v0";
  EXPECT_EQ(CodeOf(CheckDecision(other_target, Verdict::kApprove)), "intent_changed");
}

TEST(ApprovalRulesTest, ContainmentHasNoTargetToCompare) {
  auto f = Allowed();
  f.proposes_rollback = false;
  f.proposed_to_version = std::nullopt;
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "ok");
}

TEST(ApprovalRulesTest, ApprovingTwiceIsAlreadyApprovedEvenAfterTheEscalationClosed) {
  auto f = Allowed();
  f.approvers = {"sre-1"};
  f.escalation_state = domain::EscalationState::kApproved;
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "already_approved");
}

TEST(ApprovalRulesTest, RollbackWithoutTargetCannotBeApproved) {
  auto f = Allowed();
  f.proposed_to_version = std::nullopt;
  f.release_previous_version = std::nullopt;
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "target_unknown");
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kReject)), "ok");
}

TEST(ApprovalRulesTest, StateIsCheckedBeforeSeparationOfDuties) {
  auto f = Allowed();
  f.escalation_state = domain::EscalationState::kRejected;
  f.actor = "ci-bot";
  EXPECT_EQ(CodeOf(CheckDecision(f, Verdict::kApprove)), "rejected");
}

}  // namespace
}  // namespace backstop::approvals
