#include "backstop/audit/audit_kind.hpp"

#include <stdexcept>

#include "backstop/common/wire_table.hpp"

namespace backstop::audit {

namespace {

constexpr WireTable<AuditKind, 25> kAuditKinds{{
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
}};

}  // namespace

std::string_view ToString(AuditKind kind) { return WireName(kAuditKinds, kind); }
std::optional<AuditKind> ParseAuditKind(std::string_view text) { return ParseWire(kAuditKinds, text); }

AuditKind DecisionAuditKind(decision::DecisionKind kind) {
  switch (kind) {
    case decision::DecisionKind::kAutoRollback: return AuditKind::kDecisionAutoRollback;
    case decision::DecisionKind::kEscalate: return AuditKind::kDecisionEscalate;
    case decision::DecisionKind::kWouldRollback: return AuditKind::kDecisionWouldRollback;
    case decision::DecisionKind::kWouldEscalate: return AuditKind::kDecisionWouldEscalate;
    case decision::DecisionKind::kHealthy: return AuditKind::kDecisionHealthy;
    case decision::DecisionKind::kNone: break;
  }
  throw std::logic_error("no audit kind for an empty decision");
}

}  // namespace backstop::audit
