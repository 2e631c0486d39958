#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"

namespace backstop::store {

// The transactional outboxes. Rows are queued in the transaction of the
// event that causes them and delivered by fenced workers; both tables share
// the delivery columns (state, attempts, lease_owner, lease_expires_at,
// next_attempt_at, last_error, updated_at, finished_at) and go through this
// one claim / renew / complete implementation.
enum class OutboxKind {
  kActions,        // actions: rollback actions, run by executors
  kNotifications,  // notifications: messages to notifiers (pagerduty, slack, webhook)
};

// One claimed attempt: the row and the attempt number that fences its writes.
struct OutboxClaim {
  std::string id;
  int attempt = 0;
};

// How a fenced attempt ends. `outcome` kRetry puts the row back to
// `pending` until now() + retry_in_ms; kSucceeded and kFailed are final.
struct OutboxCompletion {
  std::string id;
  std::string worker;
  int attempt = 0;
  actions::Outcome outcome = actions::Outcome::kFailed;
  std::optional<std::string> error;
  std::int64_t retry_in_ms = 0;
  // Written by the same fenced UPDATE, so the row is updated once per
  // transaction: a second UPDATE of a row this transaction already changed
  // re-checks its foreign keys (KEY SHARE on the release), and two such
  // transactions then deadlock on the release row they both lock next.
  std::string executor;            // actions: the executor's type
  std::optional<int> http_status;  // notifications: last_status (kept when absent)
};

// Claims are fenced: a worker claims a row in a committed transaction of its
// own (lease owner, lease expiry from the database's now(), attempt + 1),
// renews the lease while the attempt runs, and records the outcome only
// WHERE lease_owner = me AND attempts = n — a worker whose lease was taken
// over changes nothing.
class Outbox {
 public:
  // The LISTEN/NOTIFY channel that wakes the workers of `kind`.
  static std::string_view Channel(OutboxKind kind);
  // NOTIFYs the workers of `kind` (delivered when `tx` commits).
  static void WakeWorkers(pqxx::work& tx, OutboxKind kind);

  // Claims the next due row for `worker`: pending and due, or running with an
  // expired lease (its worker died). Actions decided automatically wait while
  // the mode is freeze; a notification waits until every earlier one of its
  // notifier about the same release has finished, so a PagerDuty resolve
  // never overtakes its trigger.
  static std::optional<OutboxClaim> ClaimNext(pqxx::work& tx, OutboxKind kind, const std::string& worker,
                                              Millis lease);
  // Extends the lease while an attempt runs; false if it was taken over.
  static bool RenewLease(pqxx::work& tx, OutboxKind kind, const OutboxClaim& claim, const std::string& worker,
                         Millis lease);
  // Expires the leases `worker` holds (its previous life is over); returns how many.
  static std::int64_t ReclaimLeasesOf(pqxx::work& tx, OutboxKind kind, const std::string& worker);
  // Records the end of an attempt if this worker still holds its lease;
  // false (nothing written) when it was taken over.
  static bool Complete(pqxx::work& tx, OutboxKind kind, const OutboxCompletion& c);
};

}  // namespace backstop::store
