#include "backstop/store/action_repository.hpp"

#include <stdexcept>

#include "backstop/actions/delivery.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kColumns =
    "seq, id, release_id, decision_id, escalation_id, service, environment, release_class, action_type, "
    "from_version, to_version, decided_by, approvers::text, reasons::text, state, executor, attempts, last_error, "
    BACKSTOP_EPOCH_MICROS("created_at") ", " BACKSTOP_EPOCH_MICROS("updated_at");
constexpr const char* kInsert =
    "INSERT INTO actions (id, release_id, decision_id, escalation_id, service, environment, release_class, "
    "action_type, from_version, to_version, decided_by, approvers, reasons, state, executor) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13::json, 'pending', $14)";
constexpr const char* kList =
    " FROM actions WHERE ($1::text IS NULL OR release_id = $1) AND ($2::bigint IS NULL OR seq < $2) "
    "ORDER BY seq DESC LIMIT $3";
constexpr const char* kLockBudget =
    "SELECT pg_advisory_xact_lock(hashtextextended('budget:' || $1 || '/' || $2, 0))";
constexpr const char* kCountAuto =
    "SELECT count(*) FROM actions WHERE decided_by = 'auto' AND release_class = $1 "
    "AND environment = $2 AND created_at > now() - $3 * interval '1 millisecond'";
constexpr const char* kCountPending = "SELECT count(*) FROM actions WHERE state IN ('pending', 'running')";

// What an executor is sent, read for a claimed action.
constexpr const char* kClaimed =
    "SELECT id, release_id, service, environment, release_class, from_version, to_version, decided_by, "
    "approvers::text, reasons::text, attempts, action_type FROM actions WHERE id = $1";
// A gate action is claimed by whoever hands it out (or times it out) and
// completed in the same transaction, so its lease is never seen by others;
// it is taken anyway so CompleteAttempt's fence applies unchanged.
constexpr const char* kClaimGate =
    "UPDATE actions a SET state = 'running', lease_owner = $2, "
    "lease_expires_at = now() + $3 * interval '1 millisecond', attempts = a.attempts + 1, updated_at = now() "
    "WHERE a.id = $1 AND a.state = 'pending' AND a.executor = 'gate' "
    "RETURNING a.id, a.release_id, a.service, a.environment, a.release_class, a.from_version, a.to_version, "
    "a.decided_by, a.approvers::text, a.reasons::text, a.attempts, a.action_type";
constexpr const char* kFindPendingGate =
    "SELECT id FROM actions WHERE release_id = $1 AND state = 'pending' AND executor = 'gate' "
    "ORDER BY created_at, seq LIMIT 1";
constexpr const char* kListPendingGate =
    "SELECT id, release_id, service, (extract(epoch FROM now() - created_at) * 1000)::bigint FROM actions "
    "WHERE state = 'pending' AND executor = 'gate' ORDER BY created_at, seq";
constexpr const char* kAttemptStarted =
    "INSERT INTO action_attempts (action_id, attempt, worker) VALUES ($1, $2, $3) "
    "ON CONFLICT (action_id, attempt) DO NOTHING";
constexpr const char* kAttemptFinished =
    "UPDATE action_attempts SET finished_at = now(), outcome = $3, http_status = $4, exit_code = $5, "
    "output = $6 WHERE action_id = $1 AND attempt = $2";

ActionRow FromRow(const pqxx::row& r) {
  ActionRow a;
  a.seq = r[0].as<std::int64_t>();
  a.id = r[1].as<std::string>();
  a.release_id = r[2].as<std::string>();
  a.decision_id = OptionalColumn<std::string>(r[3]);
  a.escalation_id = OptionalColumn<std::string>(r[4]);
  a.service = r[5].as<std::string>();
  a.environment = r[6].as<std::string>();
  a.release_class = r[7].as<std::string>();
  a.action_type = decision::ParseProposedActionType(r[8].as<std::string>()).value_or(decision::ProposedActionType::kRollback);
  a.from_version = r[9].as<std::string>();
  a.to_version = OptionalColumn<std::string>(r[10]);
  a.decided_by = domain::ParseDecidedBy(r[11].as<std::string>()).value_or(domain::DecidedBy::kAuto);
  a.approvers = StringsFromJson(r[12].as<std::string>());
  a.reasons = ReasonsFromJson(r[13].as<std::string>());
  const auto state = domain::ParseActionState(r[14].as<std::string>());
  if (!state) throw std::runtime_error("action " + a.id + ": unknown state " + r[14].as<std::string>());
  a.state = *state;
  a.executor = OptionalColumn<std::string>(r[15]);
  a.attempts = r[16].as<int>();
  a.last_error = OptionalColumn<std::string>(r[17]);
  a.created_at = TimeFromMicros(r[18]);
  a.updated_at = TimeFromMicros(r[19]);
  return a;
}

}  // namespace

ActionRow ActionRepository::Queue(pqxx::work& tx, const NewAction& a) {
  const std::string id = NewUuid();
  Exec0(tx, kInsert, id, a.release_id, a.decision_id, a.escalation_id, a.service, a.environment,
                  a.release_class, std::string(decision::ToString(a.action_type)), a.from_version, a.to_version,
                  std::string(domain::ToString(a.decided_by)), StringsToJson(a.approvers), ReasonsToJson(a.reasons),
                  a.executor);
  Outbox::WakeWorkers(tx, OutboxKind::kActions);
  return *Find(tx, id);
}

std::optional<ActionRow> ActionRepository::Find(pqxx::transaction_base& tx, const std::string& id) {
  const pqxx::result r = Exec(tx, std::string("SELECT ") + kColumns + " FROM actions WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return FromRow(r[0]);
}

Page<ActionRow> ActionRepository::List(pqxx::transaction_base& tx, const std::optional<std::string>& release_id,
                                       std::optional<std::int64_t> before_seq, int limit) {
  const pqxx::result rows =
      Exec(tx, std::string("SELECT ") + kColumns + kList, release_id, before_seq, limit + 1);
  return TakePage<ActionRow>(rows, limit, FromRow, [](const ActionRow& a) { return a.seq; });
}

void ActionRepository::LockBudget(pqxx::work& tx, const std::string& release_class, const std::string& environment) {
  Exec(tx, kLockBudget, release_class, environment);
}

int ActionRepository::CountAutoInWindow(pqxx::transaction_base& tx, const std::string& release_class,
                                        const std::string& environment, Millis per) {
  return Exec1(tx, kCountAuto, release_class, environment, static_cast<std::int64_t>(per.count()))[0].as<int>();
}

std::int64_t ActionRepository::CountPending(pqxx::transaction_base& tx) {
  return tx.exec1(kCountPending)[0].as<std::int64_t>();
}

namespace {

// The claimed row: kClaimed's columns, or kClaimGate's RETURNING (the same).
ClaimedAction FromClaimRow(const pqxx::row& row) {
  ClaimedAction c;
  c.request.action_id = row[0].as<std::string>();
  c.request.release_id = row[1].as<std::string>();
  c.request.service = row[2].as<std::string>();
  c.request.environment = row[3].as<std::string>();
  c.release_class = row[4].as<std::string>();
  c.request.from_version = row[5].as<std::string>();
  c.request.to_version = OptionalColumn<std::string>(row[6]);
  c.request.decided_by = row[7].as<std::string>();
  c.request.approvers = StringsFromJson(row[8].as<std::string>());
  c.request.reasons = StringsFromJson(row[9].as<std::string>());
  c.request.attempt = row[10].as<int>();
  c.action_type = decision::ParseProposedActionType(row[11].as<std::string>()).value_or(decision::ProposedActionType::kRollback);
  c.claim = OutboxClaim{c.request.action_id, c.request.attempt};
  return c;
}

}  // namespace

std::optional<ClaimedAction> ActionRepository::ClaimNext(pqxx::work& tx, const std::string& worker, Millis lease) {
  auto claim = Outbox::ClaimNext(tx, OutboxKind::kActions, worker, lease);
  if (!claim) return std::nullopt;
  return FromClaimRow(Exec1(tx, kClaimed, claim->id));
}

std::optional<ClaimedAction> ActionRepository::ClaimGate(pqxx::work& tx, const std::string& action_id,
                                                         const std::string& claimant, Millis lease) {
  const pqxx::result r = Exec(tx, kClaimGate, action_id, claimant, static_cast<std::int64_t>(lease.count()));
  if (r.empty()) return std::nullopt;
  return FromClaimRow(r[0]);
}

std::optional<std::string> ActionRepository::FindPendingGate(pqxx::transaction_base& tx,
                                                             const std::string& release_id) {
  const pqxx::result r = Exec(tx, kFindPendingGate, release_id);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::vector<PendingGateAction> ActionRepository::ListPendingGate(pqxx::transaction_base& tx) {
  std::vector<PendingGateAction> out;
  for (const auto& row : tx.exec(kListPendingGate)) {
    out.push_back(PendingGateAction{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                                    Millis(row[3].as<std::int64_t>())});
  }
  return out;
}

void ActionRepository::RecordAttemptStarted(pqxx::work& tx, const std::string& action_id, int attempt,
                                            const std::string& worker) {
  Exec0(tx, kAttemptStarted, action_id, attempt, worker);
}

bool ActionRepository::CompleteAttempt(pqxx::work& tx, const AttemptCompletion& c) {
  if (!Outbox::Complete(tx, OutboxKind::kActions, c.fenced)) return false;
  Exec0(tx, kAttemptFinished, c.fenced.id, c.fenced.attempt, std::string(actions::ToString(c.outcome)),
                  c.http_status, c.exit_code, c.output);
  return true;
}

}  // namespace backstop::store
