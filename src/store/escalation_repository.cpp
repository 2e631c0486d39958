#include "backstop/store/escalation_repository.hpp"

#include <map>
#include <stdexcept>

#include "backstop/common/identifiers.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kColumns =
    "seq, id, release_id, decision_id, service, environment, release_class, proposed_type, from_version, "
    "to_version, reasons::text, evidence::text, summary, required_approvals, state, " BACKSTOP_EPOCH_MICROS(
        "created_at") ", " BACKSTOP_EPOCH_MICROS("expires_at") ", " BACKSTOP_EPOCH_MICROS("decided_at")
    ", decided_by, comment";
constexpr const char* kInsert =
    "INSERT INTO escalations (id, release_id, decision_id, service, environment, release_class, proposed_type, "
    "from_version, to_version, reasons, evidence, summary, required_approvals, state, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::json, $11::json, $12, $13, 'pending', "
    "now() + $14 * interval '1 millisecond')";
constexpr const char* kApprovalsOf =
    "SELECT escalation_id, approver, " BACKSTOP_EPOCH_MICROS("at") ", comment FROM approvals "
    "WHERE escalation_id = ANY($1::text[]) ORDER BY at, approver";
constexpr const char* kList =
    " FROM escalations WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR release_id = $2)"
    " AND ($3::text IS NULL OR service = $3) AND ($4::text IS NULL OR environment = $4)"
    " AND ($5::bigint IS NULL OR seq < $5) ORDER BY seq DESC LIMIT $6";
constexpr const char* kHasPending = "SELECT 1 FROM escalations WHERE release_id = $1 AND state = 'pending'";
constexpr const char* kCountPending = "SELECT count(*) FROM escalations WHERE state = 'pending'";
constexpr const char* kPendingReleases = "SELECT release_id FROM escalations WHERE state = 'pending'";
constexpr const char* kEverAskedWith =
    "SELECT 1 FROM escalations WHERE release_id = $1 AND reasons::jsonb @> jsonb_build_array($2::text)";
constexpr const char* kPastExpiry = "SELECT expires_at <= now() FROM escalations WHERE id = $1";
constexpr const char* kDue =
    "SELECT id, release_id FROM escalations WHERE state = 'pending' AND expires_at <= now() ORDER BY release_id";
constexpr const char* kMarkExpired =
    "UPDATE escalations SET state = 'expired', decided_at = now() "
    "WHERE id = $1 AND state = 'pending' AND expires_at <= now() RETURNING id";
constexpr const char* kSupersede =
    "UPDATE escalations SET state = 'superseded', decided_at = now() "
    "WHERE release_id = $1 AND state = 'pending' RETURNING id";
constexpr const char* kReject =
    "UPDATE escalations SET state = 'rejected', decided_at = now(), decided_by = $2, comment = $3 "
    "WHERE id = $1 AND state = 'pending' RETURNING id";
constexpr const char* kApprove =
    "UPDATE escalations SET state = 'approved', decided_at = now(), decided_by = $2 "
    "WHERE id = $1 AND state = 'pending' RETURNING id";
constexpr const char* kAddApproval = "INSERT INTO approvals (escalation_id, approver, comment) VALUES ($1, $2, $3)";

EscalationRow FromRow(const pqxx::row& r) {
  EscalationRow e;
  e.seq = r[0].as<std::int64_t>();
  e.id = r[1].as<std::string>();
  e.release_id = r[2].as<std::string>();
  e.decision_id = OptionalColumn<std::string>(r[3]);
  e.service = r[4].as<std::string>();
  e.environment = r[5].as<std::string>();
  e.release_class = r[6].as<std::string>();
  e.proposed_type = decision::ParseProposedActionType(r[7].as<std::string>()).value_or(decision::ProposedActionType::kContain);
  e.from_version = r[8].as<std::string>();
  e.to_version = OptionalColumn<std::string>(r[9]);
  e.reasons = ReasonsFromJson(r[10].as<std::string>());
  e.evidence = r[11].as<std::string>();
  e.summary = r[12].as<std::string>();
  e.required_approvals = r[13].as<int>();
  const auto state = domain::ParseEscalationState(r[14].as<std::string>());
  if (!state) throw std::runtime_error("escalation " + e.id + ": unknown state " + r[14].as<std::string>());
  e.state = *state;
  e.created_at = TimeFromMicros(r[15]);
  e.expires_at = TimeFromMicros(r[16]);
  e.decided_at = OptionalTime(r[17]);
  e.decided_by = OptionalColumn<std::string>(r[18]);
  e.comment = OptionalColumn<std::string>(r[19]);
  return e;
}

// Fills the approvals of every escalation in `rows` with one query.
void LoadApprovals(pqxx::transaction_base& tx, std::vector<EscalationRow*> rows) {
  if (rows.empty()) return;
  std::vector<std::string> ids;
  std::map<std::string, EscalationRow*> by_id;
  for (auto* e : rows) {
    ids.push_back(e->id);
    by_id[e->id] = e;
  }
  for (const auto& r : Exec(tx, kApprovalsOf, TextArrayLiteral(ids))) {
    by_id.at(r[0].as<std::string>())
        ->approvals.push_back(ApprovalRow{r[1].as<std::string>(), TimeFromMicros(r[2]), OptionalColumn<std::string>(r[3])});
  }
}

std::optional<std::string> StateText(const std::optional<domain::EscalationState>& s) {
  if (!s) return std::nullopt;
  return std::string(domain::ToString(*s));
}

}  // namespace

EscalationRow EscalationRepository::Insert(pqxx::work& tx, const NewEscalation& e) {
  const std::string id = NewUuid();
  Exec0(tx, kInsert, id, e.release_id, e.decision_id, e.service, e.environment, e.release_class,
                  std::string(decision::ToString(e.proposed_type)), e.from_version, e.to_version,
                  ReasonsToJson(e.reasons), e.evidence, e.summary, e.required_approvals,
                  static_cast<std::int64_t>(e.ttl.count()));
  return *Find(tx, id);
}

std::optional<EscalationRow> EscalationRepository::Find(pqxx::transaction_base& tx, const std::string& id,
                                                        bool for_update) {
  const pqxx::result r = Exec(tx,
      std::string("SELECT ") + kColumns + " FROM escalations WHERE id = $1" + (for_update ? " FOR UPDATE" : ""), id);
  if (r.empty()) return std::nullopt;
  EscalationRow e = FromRow(r[0]);
  LoadApprovals(tx, {&e});
  return e;
}

Page<EscalationRow> EscalationRepository::List(pqxx::transaction_base& tx, const EscalationQuery& q) {
  const pqxx::result rows = Exec(tx, std::string("SELECT ") + kColumns + kList, StateText(q.state),
                                           q.release_id, q.service, q.environment, q.before_seq, q.limit + 1);
  Page<EscalationRow> page = TakePage<EscalationRow>(rows, q.limit, FromRow, [](const EscalationRow& e) { return e.seq; });
  std::vector<EscalationRow*> items;
  for (auto& e : page.items) items.push_back(&e);
  LoadApprovals(tx, items);
  return page;
}

bool EscalationRepository::HasPending(pqxx::transaction_base& tx, const std::string& release_id) {
  return !Exec(tx, kHasPending, release_id).empty();
}

std::int64_t EscalationRepository::CountPending(pqxx::transaction_base& tx) {
  return tx.exec1(kCountPending)[0].as<std::int64_t>();
}

std::set<std::string> EscalationRepository::PendingReleaseIds(pqxx::transaction_base& tx) {
  std::set<std::string> out;
  for (const auto& r : tx.exec(kPendingReleases)) out.insert(r[0].as<std::string>());
  return out;
}

bool EscalationRepository::EverAskedWith(pqxx::transaction_base& tx, const std::string& release_id,
                                         decision::ReasonCode reason) {
  return !Exec(tx, kEverAskedWith, release_id, std::string(decision::ToString(reason))).empty();
}

bool EscalationRepository::IsPastExpiry(pqxx::transaction_base& tx, const std::string& id) {
  const pqxx::result r = Exec(tx, kPastExpiry, id);
  return !r.empty() && r[0][0].as<bool>();
}

std::vector<std::pair<std::string, std::string>> EscalationRepository::ListDue(pqxx::transaction_base& tx) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : tx.exec(kDue)) out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
  return out;
}

bool EscalationRepository::MarkExpired(pqxx::work& tx, const std::string& id) {
  return !Exec(tx, kMarkExpired, id).empty();
}

std::vector<std::string> EscalationRepository::SupersedePending(pqxx::work& tx, const std::string& release_id) {
  std::vector<std::string> out;
  for (const auto& r : Exec(tx, kSupersede, release_id)) out.push_back(r[0].as<std::string>());
  return out;
}

bool EscalationRepository::MarkRejected(pqxx::work& tx, const std::string& id, const std::string& by,
                                        const std::optional<std::string>& comment) {
  return !Exec(tx, kReject, id, by, comment).empty();
}

bool EscalationRepository::MarkApproved(pqxx::work& tx, const std::string& id,
                                        const std::vector<std::string>& approvers) {
  std::string joined;
  for (const auto& a : approvers) joined += (joined.empty() ? "" : ",") + a;
  return !Exec(tx, kApprove, id, joined).empty();
}

void EscalationRepository::AddApproval(pqxx::work& tx, const std::string& id, const std::string& approver,
                                       const std::optional<std::string>& comment) {
  Exec0(tx, kAddApproval, id, approver, comment);
}

}  // namespace backstop::store
