#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"
#include "backstop/config/config.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/store/notification_repository.hpp"

// Notifications: told in the transaction of their event, delivered later.
//
// Every workflow step that opens or ends an escalation or finishes an action
// calls Notify last, in its own transaction, so the outbox rows commit (or
// vanish) with the event. A notification never blocks or undoes anything:
// queuing one only inserts rows, and its delivery, failure included, changes
// nothing but the notification itself.
namespace backstop::workflow {

// What an event is about. Escalation events name the escalation, action
// events the action; both name the release.
struct NotificationSubject {
  std::string release_id;
  std::optional<std::string> escalation_id;
  std::optional<std::string> action_id;
};

// Queues one notification per notifier that takes the event (notify::Route:
// its `match` glob and `events`; a pagerduty notifier also resolves what it
// paged), with a snapshot of the release, escalation and action as they are
// now. Each row is queued at most once per (notifier, event, subject). The
// caller holds the release row lock and runs this after its state changes.
void Notify(pqxx::work& tx, const config::Notifiers& notifiers, domain::NotificationEvent event,
            const NotificationSubject& subject);

// Claims the next due notification for `worker` under a lease of `lease`.
std::optional<store::ClaimedNotification> ClaimNextNotification(pqxx::work& tx, const std::string& worker,
                                                                 Millis lease);

struct NotificationReport {
  actions::ExecutionResult result;
  int max_attempts = 1;
  double jitter = 0;  // uniform in [0, 1): full-jitter backoff
};

struct RecordedNotification {
  bool stale = false;  // the lease was taken over: nothing was written
  domain::NotificationState state = domain::NotificationState::kFailed;
};

// Records an attempt's outcome, fenced: succeeded; retry → pending again
// after the shared outbox backoff (actions::RetryDelay: never sooner than
// the receiver asked); failed, or a retry past max_attempts → failed.
RecordedNotification RecordNotificationOutcome(pqxx::work& tx, const std::string& worker,
                                               const store::ClaimedNotification& claimed,
                                               const NotificationReport& report);

}  // namespace backstop::workflow
