#include "backstop/workflow/notifications.hpp"

#include <boost/json.hpp>

#include "backstop/actions/delivery.hpp"
#include "backstop/api/escalation_json.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/notify/routing.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::workflow {

namespace {

using domain::NotificationEvent;

constexpr std::size_t kMaxErrorBytes = 2048;

// The resources as their GET routes render them, so a webhook receiver
// reads the shapes it already knows.
std::string Snapshot(const store::Release& release, const std::optional<store::EscalationRow>& escalation,
                     const std::optional<store::ActionRow>& action) {
  boost::json::object payload{{"release", api::ReleaseToJson(release)}};
  if (escalation) payload["escalation"] = api::EscalationToJson(*escalation);
  if (action) payload["action"] = api::ActionToJson(*action);
  return boost::json::serialize(payload);
}

domain::NotificationState StateAfter(actions::Outcome o) {
  switch (o) {
    case actions::Outcome::kSucceeded: return domain::NotificationState::kSucceeded;
    case actions::Outcome::kRetry: return domain::NotificationState::kPending;
    case actions::Outcome::kFailed: return domain::NotificationState::kFailed;
  }
  return domain::NotificationState::kFailed;
}

}  // namespace

void Notify(pqxx::work& tx, const config::Notifiers& notifiers, NotificationEvent event,
            const NotificationSubject& subject) {
  if (notifiers.empty()) return;
  const auto release = store::ReleaseRepository::Find(tx, subject.release_id);
  if (!release) return;
  std::optional<store::EscalationRow> escalation;
  if (subject.escalation_id) escalation = store::EscalationRepository::Find(tx, *subject.escalation_id);
  std::optional<store::ActionRow> action;
  if (subject.action_id) action = store::ActionRepository::Find(tx, *subject.action_id);
  const notify::Occurrence occurrence =
      notify::OccurrenceOf(event, release->service, escalation ? escalation->reasons : std::vector<decision::ReasonCode>{});
  const std::string subject_id = action ? action->id : escalation ? escalation->id : release->id;

  std::optional<std::string> payload;  // rendered once, for the first notifier that takes the event
  for (const config::NotifierConfig& n : notifiers) {
    const bool paged_before = n.type == config::NotifierType::kPagerDuty && escalation &&
                              domain::EndsEscalation(event) &&
                              store::NotificationRepository::WasQueued(tx, n.name, escalation->id, notify::PagingEvents());
    const std::optional<NotificationEvent> told = notify::Route(n, occurrence, paged_before);
    if (!told) continue;
    if (!payload) payload = Snapshot(*release, escalation, action);
    store::NewNotification row;
    row.dedup_key = notify::DedupKey(n.name, *told, subject_id);
    row.ordering_key = notify::OrderingKey(n.name, release->id);
    row.notifier = n.name;
    row.event = *told;
    row.release_id = release->id;
    if (escalation) row.escalation_id = escalation->id;
    if (action) row.action_id = action->id;
    row.payload = *payload;
    store::NotificationRepository::Queue(tx, row);
  }
}

std::optional<store::ClaimedNotification> ClaimNextNotification(pqxx::work& tx, const std::string& worker,
                                                                 Millis lease) {
  return store::NotificationRepository::ClaimNext(tx, worker, lease);
}

RecordedNotification RecordNotificationOutcome(pqxx::work& tx, const std::string& worker,
                                               const store::ClaimedNotification& claimed,
                                               const NotificationReport& report) {
  const auto& result = report.result;
  const int attempt = claimed.claim.attempt;
  const actions::Outcome final_outcome =
      result.outcome == actions::Outcome::kRetry && attempt >= report.max_attempts ? actions::Outcome::kFailed
                                                                                    : result.outcome;
  store::OutboxCompletion completion;
  completion.id = claimed.claim.id;
  completion.worker = worker;
  completion.attempt = attempt;
  completion.outcome = final_outcome;
  if (!result.error.empty()) {
    std::string error = result.error;
    if (final_outcome == actions::Outcome::kFailed && result.outcome == actions::Outcome::kRetry) {
      error += " (gave up after " + std::to_string(attempt) + " attempts)";
    }
    completion.error = actions::SanitizeOutput(error, kMaxErrorBytes);
  }
  completion.retry_in_ms =
      final_outcome == actions::Outcome::kRetry ? actions::RetryDelay(attempt, report.jitter, result.retry_after).count()
                                                : 0;
  completion.http_status = result.http_status;
  const domain::NotificationState state = StateAfter(final_outcome);
  if (!store::NotificationRepository::CompleteAttempt(tx, completion)) return RecordedNotification{true, state};
  return RecordedNotification{false, state};
}

}  // namespace backstop::workflow
