#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/store/outbox.hpp"
#include "backstop/store/paging.hpp"

namespace backstop::store {

struct NotificationRow {
  std::int64_t seq = 0;
  std::string id;
  std::string notifier;
  domain::NotificationEvent event = domain::NotificationEvent::kEscalationOpened;
  std::string release_id;
  std::optional<std::string> escalation_id;
  std::optional<std::string> action_id;
  domain::NotificationState state = domain::NotificationState::kPending;
  int attempts = 0;
  std::optional<std::string> last_error;
  std::optional<int> last_status;               // the receiver's last HTTP status
  std::optional<TimePoint> next_attempt_at;     // pending only: not before this
  TimePoint created_at{};
  TimePoint updated_at{};
};

struct NewNotification {
  std::string dedup_key;     // notifier/event/subject
  std::string ordering_key;  // notifier/subject
  std::string notifier;
  domain::NotificationEvent event = domain::NotificationEvent::kEscalationOpened;
  std::string release_id;
  std::optional<std::string> escalation_id;
  std::optional<std::string> action_id;
  std::string payload;       // JSON: {"release", "escalation"?, "action"?} at the event
};

// One attempt of a notification, as claimed by a worker.
struct ClaimedNotification {
  OutboxClaim claim;
  std::string notifier;
  domain::NotificationEvent event = domain::NotificationEvent::kEscalationOpened;
  std::string release_id;
  std::optional<std::string> escalation_id;
  std::string payload;       // JSON text as queued
  TimePoint created_at{};    // when the event happened (the row shares its transaction)
};

struct NotificationQuery {
  std::optional<domain::NotificationState> state;
  std::optional<std::string> escalation_id;
  std::optional<std::int64_t> before_seq;
  int limit = 100;
};

// The notification outbox (store::Outbox, kind kNotifications). Rows are
// queued in the transaction of their event, at most once per dedup key, and
// claimed, renewed and completed through the same fenced outbox code as
// actions.
class NotificationRepository {
 public:
  // Queues a pending notification and wakes the workers (at commit). False
  // when its dedup key was queued before (nothing written).
  static bool Queue(pqxx::work& tx, const NewNotification& n);
  // Whether `notifier` was ever given one of `events` about the escalation.
  static bool WasQueued(pqxx::transaction_base& tx, const std::string& notifier, const std::string& escalation_id,
                        std::span<const domain::NotificationEvent> events);
  static std::optional<NotificationRow> Find(pqxx::transaction_base& tx, const std::string& id);
  // Newest first.
  static Page<NotificationRow> List(pqxx::transaction_base& tx, const NotificationQuery& q);
  static std::int64_t CountUnfinished(pqxx::transaction_base& tx);

  // Claims the next due notification for `worker` under a lease.
  static std::optional<ClaimedNotification> ClaimNext(pqxx::work& tx, const std::string& worker, Millis lease);
  // Records the end of an attempt if this worker still holds its lease;
  // false (nothing written) when it was taken over.
  static bool CompleteAttempt(pqxx::work& tx, const OutboxCompletion& c);
};

}  // namespace backstop::store
