#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backstop/config/config.hpp"
#include "backstop/decision/reason_code.hpp"
#include "backstop/domain/states.hpp"

// Which notifier is told what (pure): the `match` glob and `events` filter
// of each notifier, and the keys that make delivery at-least-once yet
// queued once.
namespace backstop::notify {

// Something that happened, in the words notifiers subscribe to, the most
// specific first: an escalation opened because a rollback failed is
// {rollback.failed, escalation.opened}; most occurrences have one name.
struct Occurrence {
  std::vector<domain::NotificationEvent> names;  // non-empty
  std::string service;
};

// The occurrence of `event` about `service`. An escalation opened because a
// rollback failed or was ineffective (its reasons say so) is
// {rollback.failed | rollback.ineffective, escalation.opened}.
Occurrence OccurrenceOf(domain::NotificationEvent event, const std::string& service,
                        const std::vector<decision::ReasonCode>& escalation_reasons);

// The events with which a pagerduty notifier opens an incident.
std::span<const domain::NotificationEvent> PagingEvents();

// The event `notifier` is told `occurrence` as, or nullopt when it is told
// nothing: its `match` glob does not take the service, or it subscribes to
// none of the names (it is told the most specific one it subscribes to, so
// one occurrence is one message per notifier). A pagerduty notifier is told
// an opening it subscribes to (escalation.opened, rollback.failed,
// rollback.ineffective), and the end of an escalation (approved, rejected,
// expired, superseded) exactly when `paged_before` — it resolves the
// incident it opened, whatever its `events` say; it is never told action.*.
std::optional<domain::NotificationEvent> Route(const config::NotifierConfig& notifier, const Occurrence& occurrence,
                                               bool paged_before);

// "<notifier>/<event>/<subject>": one row per notifier and event of one
// subject (an escalation or action id), however often its transaction runs.
std::string DedupKey(const std::string& notifier, domain::NotificationEvent event, const std::string& subject);
// "<notifier>/<release id>": what a notifier is told about one release is
// delivered in the order it happened (a PagerDuty resolve never overtakes
// its trigger).
std::string OrderingKey(const std::string& notifier, const std::string& release_id);

}  // namespace backstop::notify
