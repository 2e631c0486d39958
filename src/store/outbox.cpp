#include "backstop/store/outbox.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

// The SQL of one outbox table, built once from the shared shape.
struct OutboxSql {
  std::string notify;
  std::string claim;
  std::string renew;
  std::string reclaim;
  std::string complete;
};

// SKIP LOCKED: workers of every process take different rows without waiting
// on each other; a row whose lease expired (its worker died) is claimable
// again, with attempt + 1 so the dead worker's writes are fenced.
// `extra` sets the table's own columns from $7 in the completing UPDATE.
OutboxSql Build(const std::string& table, const std::string& channel, const std::string& claim_condition,
                const std::string& extra) {
  OutboxSql sql;
  sql.notify = "NOTIFY " + channel;
  sql.claim =
      "UPDATE " + table + " o SET state = 'running', lease_owner = $1, "
      "lease_expires_at = now() + $2 * interval '1 millisecond', attempts = o.attempts + 1, updated_at = now() "
      "WHERE o.id = (SELECT c.id FROM " + table + " c WHERE ((c.state = 'pending' AND c.next_attempt_at <= now()) "
      "OR (c.state = 'running' AND c.lease_expires_at < now())) AND " + claim_condition +
      " ORDER BY c.next_attempt_at, c.seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
      "RETURNING o.id, o.attempts";
  sql.renew = "UPDATE " + table + " SET lease_expires_at = now() + $4 * interval '1 millisecond' "
              "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'";
  sql.reclaim = "UPDATE " + table + " SET lease_expires_at = now() WHERE state = 'running' AND lease_owner = $1";
  // Fenced: only the holder of this attempt's lease records its outcome.
  sql.complete =
      "UPDATE " + table + " SET state = $4, lease_owner = NULL, lease_expires_at = NULL, last_error = $5, "
      "next_attempt_at = now() + $6 * interval '1 millisecond', updated_at = now(), "
      "finished_at = CASE WHEN $4 IN ('succeeded', 'failed') THEN now() END, " + extra +
      " WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running' RETURNING id";
  return sql;
}

const OutboxSql& SqlFor(OutboxKind kind) {
  // Gate actions wait for a gate answer (ActionRepository::ClaimGate), never
  // for a worker; freeze stops automatic actions only, rollbacks approved by
  // humans still execute.
  static const OutboxSql actions =
      Build("actions", "backstop_actions",
            "c.executor IS DISTINCT FROM 'gate' "
            "AND NOT (c.decided_by = 'auto' AND (SELECT mode FROM controller_mode) = 'freeze')",
            "executor = $7");
  // A notifier is told about one release in order: a row waits while an
  // earlier one of its ordering_key (notifier/release) is unfinished.
  static const OutboxSql notifications =
      Build("notifications", "backstop_notifications",
            "NOT EXISTS (SELECT 1 FROM notifications e WHERE e.ordering_key = c.ordering_key "
            "AND e.seq < c.seq AND e.state IN ('pending', 'running'))",
            "last_status = coalesce($7::integer, last_status)");
  return kind == OutboxKind::kActions ? actions : notifications;
}

// The state a row is left in after an attempt; the wire strings are shared
// by both tables (domain::ActionState, domain::NotificationState).
const char* StateAfter(actions::Outcome outcome) {
  switch (outcome) {
    case actions::Outcome::kSucceeded: return "succeeded";
    case actions::Outcome::kRetry: return "pending";
    case actions::Outcome::kFailed: return "failed";
  }
  return "failed";
}

}  // namespace

std::string_view Outbox::Channel(OutboxKind kind) {
  return kind == OutboxKind::kActions ? "backstop_actions" : "backstop_notifications";
}

void Outbox::WakeWorkers(pqxx::work& tx, OutboxKind kind) { tx.exec0(SqlFor(kind).notify); }

std::optional<OutboxClaim> Outbox::ClaimNext(pqxx::work& tx, OutboxKind kind, const std::string& worker,
                                             Millis lease) {
  const pqxx::result r = Exec(tx, SqlFor(kind).claim, worker, static_cast<std::int64_t>(lease.count()));
  if (r.empty()) return std::nullopt;
  return OutboxClaim{r[0][0].as<std::string>(), r[0][1].as<int>()};
}

bool Outbox::RenewLease(pqxx::work& tx, OutboxKind kind, const OutboxClaim& claim, const std::string& worker,
                        Millis lease) {
  return Exec(tx, SqlFor(kind).renew, claim.id, worker, claim.attempt, static_cast<std::int64_t>(lease.count()))
             .affected_rows() == 1;
}

std::int64_t Outbox::ReclaimLeasesOf(pqxx::work& tx, OutboxKind kind, const std::string& worker) {
  return static_cast<std::int64_t>(Exec(tx, SqlFor(kind).reclaim, worker).affected_rows());
}

bool Outbox::Complete(pqxx::work& tx, OutboxKind kind, const OutboxCompletion& c) {
  const std::string state = StateAfter(c.outcome);
  const std::string& sql = SqlFor(kind).complete;
  if (kind == OutboxKind::kActions) {
    return !Exec(tx, sql, c.id, c.worker, c.attempt, state, c.error, c.retry_in_ms, c.executor).empty();
  }
  return !Exec(tx, sql, c.id, c.worker, c.attempt, state, c.error, c.retry_in_ms, c.http_status).empty();
}

}  // namespace backstop::store
