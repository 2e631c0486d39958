#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

// The states a release, an escalation, an action and a notification move
// through, and the events notifications are sent for. Each wire
// string is documented once, beside its enumerator, and lives in one table in
// states.cpp; the strings are part of the external contract (answers, the
// database's CHECK constraints) and never change once shipped. Only
// src/workflow/ moves a row from one state to another.
namespace backstop::domain {

enum class ReleaseStatus {
  kEvaluating,        // evaluating: registered, telemetry is being evaluated
  kHealthy,           // healthy: no counted breach for evaluation.duration
  kRollingBack,       // rolling_back: a rollback action is queued or running
  kRolledBack,        // rolled_back: the rollback action succeeded
  kRollbackFailed,    // rollback_failed: the rollback action failed; a human was asked
  kEscalated,         // escalated: a human was asked (the question may have expired)
  kRollbackRejected,  // rollback_rejected: a human chose to keep the release
  kSuperseded,        // superseded: a newer release of the service and environment arrived
};
std::string_view ToString(ReleaseStatus s);
std::optional<ReleaseStatus> ParseReleaseStatus(std::string_view text);

// The legal moves of a release (DESIGN "Release status"); the repository
// refuses every other one. Staying escalated is legal: an expired question
// is asked again.
bool IsLegalTransition(ReleaseStatus from, ReleaseStatus to);

// Statuses the evaluator decides on.
bool IsEvaluable(ReleaseStatus s);

enum class EscalationState {
  kPending,     // pending: waiting for approvals or a rejection
  kApproved,    // approved: enough approvals; the rollback (if any) was queued
  kRejected,    // rejected: a human kept the release
  kExpired,     // expired: unanswered past expires_at
  kSuperseded,  // superseded: a newer release replaced the one in question
};
std::string_view ToString(EscalationState s);
std::optional<EscalationState> ParseEscalationState(std::string_view text);

enum class ActionState {
  kPending,    // pending: queued, or waiting for its next attempt
  kRunning,    // running: claimed by a worker under a lease
  kSucceeded,  // succeeded: the executor confirmed it
  kFailed,     // failed: gave up; a human was asked (rollback.failed)
};
std::string_view ToString(ActionState s);
std::optional<ActionState> ParseActionState(std::string_view text);

// Who decided an action.
enum class DecidedBy {
  kAuto,      // auto: the controller, inside its bounds
  kApproval,  // approval: the approvers of an escalation
};
std::string_view ToString(DecidedBy d);
std::optional<DecidedBy> ParseDecidedBy(std::string_view text);

enum class NotificationState {
  kPending,    // pending: queued, or waiting for its next attempt
  kRunning,    // running: claimed by a worker under a lease
  kSucceeded,  // succeeded: the receiver confirmed it
  kFailed,     // failed: gave up (a refusal, or max_attempts); nothing else is undone
};
std::string_view ToString(NotificationState s);
std::optional<NotificationState> ParseNotificationState(std::string_view text);

// What a notification tells (the notifier config's `events`, the
// notification's `event`, the webhook body's `event`).
enum class NotificationEvent {
  kEscalationOpened,      // escalation.opened: a human is asked to approve or reject
  kEscalationApproved,    // escalation.approved: enough approvals; the rollback (if any) was queued
  kEscalationRejected,    // escalation.rejected: a human kept the release
  kEscalationExpired,     // escalation.expired: nobody answered before expires_at
  kEscalationSuperseded,  // escalation.superseded: a newer release replaced the one in question
  kActionSucceeded,       // action.succeeded: the executor confirmed the rollback
  kActionFailed,          // action.failed: the rollback gave up (rollback.failed follows when a human is asked)
  kRollbackFailed,        // rollback.failed: an escalation opened because a rollback failed for good
  kRollbackIneffective,   // rollback.ineffective: an escalation opened because the restored version still breaches
};
std::string_view ToString(NotificationEvent e);
std::optional<NotificationEvent> ParseNotificationEvent(std::string_view text);
// Every event, in the order above ("*" in a notifier's `events`).
std::span<const NotificationEvent> AllNotificationEvents();
// "escalation.opened, escalation.approved, ...": for "must be one of" messages.
std::string NotificationEventNames();
// The events after which an escalation is no longer `pending`.
bool EndsEscalation(NotificationEvent e);

}  // namespace backstop::domain
