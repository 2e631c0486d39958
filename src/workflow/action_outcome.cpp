#include "backstop/workflow/action_outcome.hpp"

#include <boost/json.hpp>

#include "backstop/actions/delivery.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/workflow/audit_record.hpp"
#include "backstop/workflow/escalations.hpp"
#include "backstop/workflow/notifications.hpp"

namespace backstop::workflow {

namespace {

using actions::Outcome;
using domain::ActionState;
using domain::ReleaseStatus;

constexpr const char* kSystem = "system";
constexpr std::size_t kMaxErrorBytes = 2048;

ActionState StateAfter(Outcome o) {
  switch (o) {
    case Outcome::kSucceeded: return ActionState::kSucceeded;
    case Outcome::kRetry: return ActionState::kPending;
    case Outcome::kFailed: return ActionState::kFailed;
  }
  return ActionState::kFailed;
}

}  // namespace

std::optional<store::ClaimedAction> ClaimNextAction(pqxx::work& tx, const std::string& worker, Millis lease) {
  auto claimed = store::ActionRepository::ClaimNext(tx, worker, lease);
  if (!claimed) return std::nullopt;
  const auto& r = claimed->request;
  store::ActionRepository::RecordAttemptStarted(tx, r.action_id, r.attempt, worker);
  Record(tx, kSystem, audit::AuditKind::kActionAttempted, r.release_id,
         {{"action_id", r.action_id}, {"attempt", r.attempt}, {"worker", worker}});
  return claimed;
}

RecordedOutcome RecordActionOutcome(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                    const config::Notifiers& notifiers, const std::string& worker,
                                    const store::ClaimedAction& claimed, const AttemptReport& report) {
  const auto& req = claimed.request;
  const auto& result = report.result;
  const Outcome final_outcome =
      result.outcome == Outcome::kRetry && req.attempt >= report.max_attempts ? Outcome::kFailed : result.outcome;
  store::AttemptCompletion completion;
  completion.fenced.id = req.action_id;
  completion.fenced.worker = worker;
  completion.fenced.attempt = req.attempt;
  completion.fenced.outcome = final_outcome;
  if (!result.error.empty()) completion.fenced.error = actions::SanitizeOutput(result.error, kMaxErrorBytes);
  completion.fenced.retry_in_ms =
      final_outcome == Outcome::kRetry ? actions::RetryDelay(req.attempt, report.jitter, result.retry_after).count() : 0;
  completion.fenced.executor = report.executor;
  completion.outcome = result.outcome;
  completion.http_status = result.http_status;
  completion.exit_code = result.exit_code;
  completion.output = result.output;
  const ActionState state = StateAfter(final_outcome);
  if (!store::ActionRepository::CompleteAttempt(tx, completion)) return RecordedOutcome{true, state};

  // Lock order: the release row before the audit head.
  auto release = store::ReleaseRepository::Lock(tx, req.release_id);
  boost::json::object payload{{"action_id", req.action_id},
                              {"attempt", req.attempt},
                              {"outcome", actions::ToString(result.outcome)},
                              {"seconds", report.seconds}};
  if (result.http_status) payload["http_status"] = *result.http_status;
  if (result.exit_code) payload["exit_code"] = *result.exit_code;
  if (!result.error.empty()) payload["error"] = result.error;
  if (report.picked_up_by) payload["picked_up_by"] = *report.picked_up_by;
  switch (final_outcome) {
    case Outcome::kSucceeded:
      store::ReleaseRepository::Transition(tx, req.release_id, {ReleaseStatus::kRollingBack},
                                           ReleaseStatus::kRolledBack);
      Record(tx, kSystem, audit::AuditKind::kActionSucceeded, req.release_id, payload);
      Notify(tx, notifiers, domain::NotificationEvent::kActionSucceeded, {req.release_id, std::nullopt, req.action_id});
      break;
    case Outcome::kRetry:
      payload["retry_in_ms"] = completion.fenced.retry_in_ms;
      Record(tx, kSystem, audit::AuditKind::kActionAttemptFailed, req.release_id, payload);
      break;
    case Outcome::kFailed: {
      // A human takes over: the release is rollback_failed with a fresh escalation.
      store::ReleaseRepository::Transition(tx, req.release_id, {ReleaseStatus::kRollingBack},
                                           ReleaseStatus::kRollbackFailed);
      Notify(tx, notifiers, domain::NotificationEvent::kActionFailed, {req.release_id, std::nullopt, req.action_id});
      std::optional<std::string> escalation_id;
      if (release && !store::EscalationRepository::HasPending(tx, release->id)) {
        const auto set = registry.Find(release->release_class, release->thresholds_version);
        escalation_id =
            OpenEscalation(tx, notifiers, EscalationForFailedRollback(*release, claimed, result.error, set.get())).id;
      }
      payload["escalation_id"] = escalation_id ? boost::json::value(*escalation_id) : nullptr;
      Record(tx, kSystem, audit::AuditKind::kActionFailed, req.release_id, payload);
      break;
    }
  }
  return RecordedOutcome{false, state};
}

}  // namespace backstop::workflow
