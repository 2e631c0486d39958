#include "backstop/store/decision_repository.hpp"


#include <boost/json.hpp>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/common/identifiers.hpp"

namespace backstop::store {

namespace {

TimePoint Micros(const pqxx::field& f) { return TimePoint(std::chrono::microseconds(f.as<std::int64_t>())); }

template <typename T>
std::optional<T> Opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

#define BACKSTOP_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

constexpr const char* kDecisionInsertReal =
    "INSERT INTO decisions (id, release_id, episode, decision, reasons, evidence, thresholds_version, mode) "
    "VALUES ($1, $2, $3, $4, $5::json, $6::json, $7, $8) "
    "ON CONFLICT (release_id, episode) WHERE decision IN ('auto_rollback', 'escalate', 'healthy') "
    "DO NOTHING RETURNING id";
constexpr const char* kDecisionInsertDryRun =
    "INSERT INTO decisions (id, release_id, episode, decision, reasons, evidence, thresholds_version, mode) "
    "VALUES ($1, $2, $3, $4, $5::json, $6::json, $7, $8) "
    "ON CONFLICT (release_id, episode, decision) WHERE decision IN ('would_rollback', 'would_escalate') "
    "DO NOTHING RETURNING id";
constexpr const char* kDecisionList =
    "SELECT id, release_id, episode, decision, reasons::text, evidence::text, thresholds_version, mode, "
    BACKSTOP_US("at") " FROM decisions WHERE release_id = ANY($1::text[]) ORDER BY at DESC, id";

constexpr const char* kEscalationColumns =
    "seq, id, release_id, decision_id, service, environment, release_class, proposed_type, from_version, "
    "to_version, reasons::text, evidence::text, summary, required_approvals, state, " BACKSTOP_US("created_at")
    ", " BACKSTOP_US("expires_at") ", " BACKSTOP_US("decided_at") ", decided_by, comment";
constexpr const char* kEscalationInsert =
    "INSERT INTO escalations (id, release_id, decision_id, service, environment, release_class, proposed_type, "
    "from_version, to_version, reasons, evidence, summary, required_approvals, state, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::json, $11::json, $12, $13, 'pending', "
    "now() + $14 * interval '1 millisecond')";
constexpr const char* kApprovalsFor =
    "SELECT approver, " BACKSTOP_US("at") ", comment FROM approvals WHERE escalation_id = $1 ORDER BY at, approver";

constexpr const char* kActionColumns =
    "seq, id, release_id, decision_id, escalation_id, service, environment, release_class, action_type, "
    "from_version, to_version, decided_by, approvers::text, reasons::text, state, executor, attempts, last_error, "
    BACKSTOP_US("created_at") ", " BACKSTOP_US("updated_at");
constexpr const char* kActionInsert =
    "INSERT INTO actions (id, release_id, decision_id, escalation_id, service, environment, release_class, "
    "action_type, from_version, to_version, decided_by, approvers, reasons, state, executor) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13::json, 'pending', $14)";

#undef BACKSTOP_US

EscalationRow EscalationFromRow(const pqxx::row& r) {
  EscalationRow e;
  e.seq = r[0].as<std::int64_t>();
  e.id = r[1].as<std::string>();
  e.release_id = r[2].as<std::string>();
  e.decision_id = Opt<std::string>(r[3]);
  e.service = r[4].as<std::string>();
  e.environment = r[5].as<std::string>();
  e.release_class = r[6].as<std::string>();
  e.proposed_type = r[7].as<std::string>();
  e.from_version = r[8].as<std::string>();
  e.to_version = Opt<std::string>(r[9]);
  e.reasons = r[10].as<std::string>();
  e.evidence = r[11].as<std::string>();
  e.summary = r[12].as<std::string>();
  e.required_approvals = r[13].as<int>();
  e.state = r[14].as<std::string>();
  e.created_at = Micros(r[15]);
  e.expires_at = Micros(r[16]);
  if (!r[17].is_null()) e.decided_at = Micros(r[17]);
  e.decided_by = Opt<std::string>(r[18]);
  e.comment = Opt<std::string>(r[19]);
  return e;
}

void LoadApprovals(pqxx::transaction_base& tx, EscalationRow& e) {
  for (const auto& r : tx.exec_params(kApprovalsFor, e.id)) {
    e.approvals.push_back(ApprovalRow{r[0].as<std::string>(), Micros(r[1]), Opt<std::string>(r[2])});
  }
}

ActionRow ActionFromRow(const pqxx::row& r) {
  ActionRow a;
  a.seq = r[0].as<std::int64_t>();
  a.id = r[1].as<std::string>();
  a.release_id = r[2].as<std::string>();
  a.decision_id = Opt<std::string>(r[3]);
  a.escalation_id = Opt<std::string>(r[4]);
  a.service = r[5].as<std::string>();
  a.environment = r[6].as<std::string>();
  a.release_class = r[7].as<std::string>();
  a.action_type = r[8].as<std::string>();
  a.from_version = r[9].as<std::string>();
  a.to_version = Opt<std::string>(r[10]);
  a.decided_by = r[11].as<std::string>();
  a.approvers = r[12].as<std::string>();
  a.reasons = r[13].as<std::string>();
  a.state = r[14].as<std::string>();
  a.executor = Opt<std::string>(r[15]);
  a.attempts = r[16].as<int>();
  a.last_error = Opt<std::string>(r[17]);
  a.created_at = Micros(r[18]);
  a.updated_at = Micros(r[19]);
  return a;
}

}  // namespace

std::optional<std::string> DecisionRepository::Insert(pqxx::work& tx, const std::string& release_id,
                                                      int episode, const std::string& decision,
                                                      const std::string& reasons, const std::string& evidence,
                                                      std::int64_t thresholds_version, const std::string& mode) {
  const bool dry_run = decision == "would_rollback" || decision == "would_escalate";
  const std::string id = NewUuid();
  const pqxx::result r = tx.exec_params(dry_run ? kDecisionInsertDryRun : kDecisionInsertReal, id, release_id,
                                        episode, decision, reasons, evidence, thresholds_version, mode);
  if (r.empty()) return std::nullopt;
  return id;
}

std::map<std::string, std::vector<DecisionRow>> DecisionRepository::ListForReleases(
    pqxx::transaction_base& tx, const std::vector<std::string>& release_ids) {
  std::map<std::string, std::vector<DecisionRow>> out;
  if (release_ids.empty()) return out;
  // A text[] literal; release ids are identifiers (no quotes, commas or
  // braces), and the literal travels as a parameter.
  std::string ids = "{";
  for (const auto& id : release_ids) ids += (ids.size() > 1 ? ",\"" : "\"") + id + "\"";
  ids += "}";
  for (const auto& r : tx.exec_params(kDecisionList, ids)) {
    DecisionRow d{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int>(),
                  r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                  r[6].as<std::int64_t>(), r[7].as<std::string>(), Micros(r[8])};
    out[d.release_id].push_back(std::move(d));
  }
  return out;
}

std::vector<DecisionRow> DecisionRepository::ListForRelease(pqxx::transaction_base& tx,
                                                            const std::string& release_id) {
  auto by_release = ListForReleases(tx, {release_id});
  return std::move(by_release[release_id]);
}

EscalationRow EscalationRepository::Open(pqxx::work& tx, const NewEscalation& e) {
  const std::string id = NewUuid();
  tx.exec_params0(kEscalationInsert, id, e.release_id, e.decision_id, e.service, e.environment,
                  e.release_class, e.proposed_type, e.from_version, e.to_version, e.reasons, e.evidence,
                  e.summary, e.required_approvals, static_cast<std::int64_t>(e.ttl.count()));
  EscalationRow row = *Find(tx, id);
  boost::json::object payload{{"escalation_id", row.id},
                              {"reasons", boost::json::parse(row.reasons)},
                              {"required_approvals", row.required_approvals},
                              {"expires_at", FormatRfc3339(row.expires_at)}};
  if (e.replaces) payload["replaces"] = *e.replaces;
  audit::AuditRepository::Append(
      tx, audit::AuditEvent{"system", "escalation.opened", row.release_id, boost::json::serialize(payload)});
  return row;
}

std::optional<EscalationRow> EscalationRepository::Find(pqxx::transaction_base& tx, const std::string& id,
                                                        bool for_update) {
  const pqxx::result r = tx.exec_params(std::string("SELECT ") + kEscalationColumns +
                                            " FROM escalations WHERE id = $1" + (for_update ? " FOR UPDATE" : ""),
                                        id);
  if (r.empty()) return std::nullopt;
  EscalationRow e = EscalationFromRow(r[0]);
  LoadApprovals(tx, e);
  return e;
}

Page<EscalationRow> EscalationRepository::List(pqxx::transaction_base& tx, const EscalationQuery& q) {
  const pqxx::result rows = tx.exec_params(
      std::string("SELECT ") + kEscalationColumns +
          " FROM escalations WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR release_id = $2)"
          " AND ($3::text IS NULL OR service = $3) AND ($4::text IS NULL OR environment = $4)"
          " AND ($5::bigint IS NULL OR seq < $5) ORDER BY seq DESC LIMIT $6",
      q.state, q.release_id, q.service, q.environment, q.before_seq, q.limit + 1);
  return TakePage<EscalationRow>(
      rows, q.limit,
      [&tx](const pqxx::row& row) {
        EscalationRow e = EscalationFromRow(row);
        LoadApprovals(tx, e);
        return e;
      },
      [](const EscalationRow& e) { return e.seq; });
}

bool EscalationRepository::HasPending(pqxx::transaction_base& tx, const std::string& release_id) {
  return !tx.exec_params("SELECT 1 FROM escalations WHERE release_id = $1 AND state = 'pending'", release_id)
              .empty();
}

std::int64_t EscalationRepository::CountPending(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT count(*) FROM escalations WHERE state = 'pending'")[0].as<std::int64_t>();
}

NewAction RollbackAction(const Release& release, std::string decided_by, std::string reasons,
                         std::string executor) {
  NewAction a;
  a.release_id = release.id;
  a.service = release.service;
  a.environment = release.environment;
  a.release_class = release.release_class;
  a.action_type = "rollback";
  a.from_version = release.version;
  a.to_version = release.previous_version;
  a.decided_by = std::move(decided_by);
  a.reasons = std::move(reasons);
  a.executor = std::move(executor);
  return a;
}

bool EscalationRepository::MarkExpired(pqxx::work& tx, const std::string& id, const std::string& release_id) {
  const pqxx::result updated = tx.exec_params(
      "UPDATE escalations SET state = 'expired', decided_at = now() "
      "WHERE id = $1 AND state = 'pending' AND expires_at <= now() RETURNING id",
      id);
  if (updated.empty()) return false;
  // A fresh episode: if the release is still degraded, the next evaluation
  // asks again rather than letting an unanswered question stand.
  tx.exec_params0("UPDATE releases SET episode = episode + 1, updated_at = now() WHERE id = $1", release_id);
  return true;
}

std::vector<EscalationRow> EscalationRepository::ExpireDue(pqxx::work& tx) {
  // Lock order everywhere: release row, then escalation row, then the audit
  // chain head. So the releases of due escalations are locked first.
  const pqxx::result due = tx.exec(
      "SELECT e.id, e.release_id FROM escalations e WHERE e.state = 'pending' AND e.expires_at <= now() "
      "ORDER BY e.release_id");
  std::vector<std::pair<std::string, std::string>> expired;
  for (const auto& r : due) {
    const std::string id = r[0].as<std::string>();
    const std::string release_id = r[1].as<std::string>();
    tx.exec_params("SELECT 1 FROM releases WHERE id = $1 FOR UPDATE", release_id);
    if (MarkExpired(tx, id, release_id)) expired.emplace_back(id, release_id);  // else decided meanwhile
  }
  std::vector<EscalationRow> out;
  for (const auto& [id, release_id] : expired) {
    boost::json::object payload{{"escalation_id", id}};
    audit::AuditRepository::Append(
        tx, audit::AuditEvent{"system", "escalation.expired", release_id, boost::json::serialize(payload)});
    out.push_back(*Find(tx, id));
  }
  // A failed rollback is not re-evaluated (nothing runs to decide again), so
  // its unanswered question is asked again here, with a fresh expiry.
  for (const auto& old : out) {
    const bool still_failed =
        !tx.exec_params("SELECT 1 FROM releases WHERE id = $1 AND status = 'rollback_failed'", old.release_id).empty();
    if (!still_failed || old.reasons.find("rollback.failed") == std::string::npos) continue;
    NewEscalation again{old.release_id,  old.decision_id,      old.service,  old.environment,
                        old.release_class, old.proposed_type, old.from_version, old.to_version,
                        old.reasons,     old.evidence,         old.summary,  old.required_approvals,
                        std::chrono::duration_cast<Millis>(old.expires_at - old.created_at), old.id};
    Open(tx, again);
  }
  return out;
}

std::vector<std::string> EscalationRepository::SupersedePending(pqxx::work& tx, const std::string& release_id) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_params("UPDATE escalations SET state = 'superseded', decided_at = now() "
                                      "WHERE release_id = $1 AND state = 'pending' RETURNING id",
                                      release_id)) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

ActionRow ActionRepository::Queue(pqxx::work& tx, const NewAction& a) {
  const std::string id = NewUuid();
  tx.exec_params0(kActionInsert, id, a.release_id, a.decision_id, a.escalation_id, a.service, a.environment,
                  a.release_class, a.action_type, a.from_version, a.to_version, a.decided_by, a.approvers,
                  a.reasons, a.executor);
  // Wakes executors listening on this channel (delivered at commit).
  tx.exec0("NOTIFY backstop_actions");
  return *Find(tx, id);
}

std::optional<ActionRow> ActionRepository::Find(pqxx::transaction_base& tx, const std::string& id) {
  const pqxx::result r =
      tx.exec_params(std::string("SELECT ") + kActionColumns + " FROM actions WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return ActionFromRow(r[0]);
}

Page<ActionRow> ActionRepository::List(pqxx::transaction_base& tx, const std::optional<std::string>& release_id,
                                       std::optional<std::int64_t> before_seq, int limit) {
  const pqxx::result rows =
      tx.exec_params(std::string("SELECT ") + kActionColumns +
                         " FROM actions WHERE ($1::text IS NULL OR release_id = $1)"
                         " AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3",
                     release_id, before_seq, limit + 1);
  return TakePage<ActionRow>(rows, limit, ActionFromRow, [](const ActionRow& a) { return a.seq; });
}

int ActionRepository::CountAutoInWindow(pqxx::transaction_base& tx, const std::string& release_class,
                                        const std::string& environment, Millis per) {
  return tx
      .exec_params1("SELECT count(*) FROM actions WHERE decided_by = 'auto' AND release_class = $1 "
                    "AND environment = $2 AND created_at > now() - $3 * interval '1 millisecond'",
                    release_class, environment, static_cast<std::int64_t>(per.count()))[0]
      .as<int>();
}

std::int64_t ActionRepository::CountPending(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT count(*) FROM actions WHERE state IN ('pending', 'running')")[0].as<std::int64_t>();
}

}  // namespace backstop::store
