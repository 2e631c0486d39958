#include "backstop/store/notification_repository.hpp"

#include <stdexcept>
#include <vector>

#include "backstop/common/identifiers.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kColumns =
    "seq, id, notifier, event, release_id, escalation_id, action_id, state, attempts, last_error, last_status, "
    "CASE WHEN state = 'pending' THEN " BACKSTOP_EPOCH_MICROS("next_attempt_at") " END, "
    BACKSTOP_EPOCH_MICROS("created_at") ", " BACKSTOP_EPOCH_MICROS("updated_at");
constexpr const char* kInsert =
    "INSERT INTO notifications (id, dedup_key, ordering_key, notifier, event, release_id, escalation_id, "
    "action_id, payload, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::json, 'pending') "
    "ON CONFLICT (dedup_key) DO NOTHING";
constexpr const char* kWasQueued =
    "SELECT 1 FROM notifications WHERE notifier = $1 AND escalation_id = $2 AND event = ANY($3::text[]) LIMIT 1";
constexpr const char* kList =
    " FROM notifications WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR escalation_id = $2)"
    " AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4";
constexpr const char* kCountUnfinished = "SELECT count(*) FROM notifications WHERE state IN ('pending', 'running')";
constexpr const char* kClaimed =
    "SELECT notifier, event, release_id, escalation_id, payload::text, " BACKSTOP_EPOCH_MICROS("created_at")
    " FROM notifications WHERE id = $1";

domain::NotificationEvent EventOf(const pqxx::field& f) {
  const auto event = domain::ParseNotificationEvent(f.as<std::string>());
  if (!event) throw std::runtime_error("notification with unknown event " + f.as<std::string>());
  return *event;
}

NotificationRow FromRow(const pqxx::row& r) {
  NotificationRow n;
  n.seq = r[0].as<std::int64_t>();
  n.id = r[1].as<std::string>();
  n.notifier = r[2].as<std::string>();
  n.event = EventOf(r[3]);
  n.release_id = r[4].as<std::string>();
  n.escalation_id = OptionalColumn<std::string>(r[5]);
  n.action_id = OptionalColumn<std::string>(r[6]);
  const auto state = domain::ParseNotificationState(r[7].as<std::string>());
  if (!state) throw std::runtime_error("notification " + n.id + ": unknown state " + r[7].as<std::string>());
  n.state = *state;
  n.attempts = r[8].as<int>();
  n.last_error = OptionalColumn<std::string>(r[9]);
  n.last_status = OptionalColumn<int>(r[10]);
  n.next_attempt_at = OptionalTime(r[11]);
  n.created_at = TimeFromMicros(r[12]);
  n.updated_at = TimeFromMicros(r[13]);
  return n;
}

std::optional<std::string> StateText(const std::optional<domain::NotificationState>& s) {
  if (!s) return std::nullopt;
  return std::string(domain::ToString(*s));
}

}  // namespace

bool NotificationRepository::Queue(pqxx::work& tx, const NewNotification& n) {
  const pqxx::result r =
      Exec(tx, kInsert, NewUuid(), n.dedup_key, n.ordering_key, n.notifier, std::string(domain::ToString(n.event)),
                     n.release_id, n.escalation_id, n.action_id, n.payload);
  if (r.affected_rows() == 0) return false;
  Outbox::WakeWorkers(tx, OutboxKind::kNotifications);
  return true;
}

bool NotificationRepository::WasQueued(pqxx::transaction_base& tx, const std::string& notifier,
                                       const std::string& escalation_id,
                                       std::span<const domain::NotificationEvent> events) {
  std::vector<std::string> names;
  for (const auto e : events) names.emplace_back(domain::ToString(e));
  return !Exec(tx, kWasQueued, notifier, escalation_id, TextArrayLiteral(names)).empty();
}

std::optional<NotificationRow> NotificationRepository::Find(pqxx::transaction_base& tx, const std::string& id) {
  const pqxx::result r =
      Exec(tx, std::string("SELECT ") + kColumns + " FROM notifications WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return FromRow(r[0]);
}

Page<NotificationRow> NotificationRepository::List(pqxx::transaction_base& tx, const NotificationQuery& q) {
  const pqxx::result rows = Exec(tx, std::string("SELECT ") + kColumns + kList, StateText(q.state),
                                           q.escalation_id, q.before_seq, q.limit + 1);
  return TakePage<NotificationRow>(rows, q.limit, FromRow, [](const NotificationRow& n) { return n.seq; });
}

std::int64_t NotificationRepository::CountUnfinished(pqxx::transaction_base& tx) {
  return tx.exec1(kCountUnfinished)[0].as<std::int64_t>();
}

std::optional<ClaimedNotification> NotificationRepository::ClaimNext(pqxx::work& tx, const std::string& worker,
                                                                     Millis lease) {
  auto claim = Outbox::ClaimNext(tx, OutboxKind::kNotifications, worker, lease);
  if (!claim) return std::nullopt;
  const pqxx::row row = Exec1(tx, kClaimed, claim->id);
  ClaimedNotification c;
  c.claim = *claim;
  c.notifier = row[0].as<std::string>();
  c.event = EventOf(row[1]);
  c.release_id = row[2].as<std::string>();
  c.escalation_id = OptionalColumn<std::string>(row[3]);
  c.payload = row[4].as<std::string>();
  c.created_at = TimeFromMicros(row[5]);
  return c;
}

bool NotificationRepository::CompleteAttempt(pqxx::work& tx, const OutboxCompletion& c) {
  return Outbox::Complete(tx, OutboxKind::kNotifications, c);
}

}  // namespace backstop::store
