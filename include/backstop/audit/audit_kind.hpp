#pragma once

#include <optional>
#include <string_view>

#include "backstop/decision/decide.hpp"

namespace backstop::audit {

// What an audit entry records. The wire strings are the `kind` column and
// part of each entry's hash, so they never change once shipped.
enum class AuditKind {
  kReleaseRegistered,            // release.registered: a deployment was accepted
  kReleaseSuperseded,            // release.superseded: a newer release replaced it
  kReleaseTrafficChanged,        // release.traffic_changed: traffic_percent changed
  kThresholdsLoaded,             // thresholds.loaded: a threshold set was stored
  kThresholdsRejected,           // thresholds.rejected: a threshold file was refused
  kDecisionAutoRollback,         // decision.auto_rollback
  kDecisionEscalate,             // decision.escalate
  kDecisionWouldRollback,        // decision.would_rollback (dry_run)
  kDecisionWouldEscalate,        // decision.would_escalate (dry_run)
  kDecisionHealthy,              // decision.healthy
  kEscalationOpened,             // escalation.opened: a human is asked
  kEscalationApprovalRecorded,   // escalation.approval_recorded: one approval of several
  kEscalationApproved,           // escalation.approved: enough approvals
  kEscalationRejected,           // escalation.rejected: a human kept the release
  kEscalationExpired,            // escalation.expired: unanswered in time
  kEscalationSuperseded,         // escalation.superseded: its release was superseded
  kActionAttempted,              // action.attempted: a worker claimed an attempt
  kActionAttemptFailed,          // action.attempt_failed: an attempt failed, retried later
  kActionSucceeded,              // action.succeeded
  kActionFailed,                 // action.failed: gave up; rollback.failed escalation
  kActionHandedOut,              // action.handed_out: a gate answer handed a gate action to the
                                 //   orchestrator named in picked_up_by (argo-rollouts, flagger)
  kModeChanged,                  // mode.changed
  kTokenCreated,                 // token.created
  kTokenRevoked,                 // token.revoked
  kIntegrationEvent,             // integration.event: an orchestrator reported an event (Flagger
                                 //   post-rollout and event hooks); never carries a token
};

std::string_view ToString(AuditKind kind);
std::optional<AuditKind> ParseAuditKind(std::string_view text);

// The audit kind recording a decision (never kNone).
AuditKind DecisionAuditKind(decision::DecisionKind kind);

}  // namespace backstop::audit
