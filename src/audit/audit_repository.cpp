#include "backstop/audit/audit_repository.hpp"

#include <stdexcept>

#include "backstop/audit/hash_chain.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::audit {

namespace {

// The entry is inserted unsealed; `at` defaults to clock_timestamp().
constexpr const char* kInsertEntry =
    "INSERT INTO audit_log (actor, kind, release_id, payload) VALUES ($1, $2, $3, $4::json) RETURNING id";

// The audit_head row lock is the sealer's lock: whoever holds it is the one
// sealer, in any process. SKIP LOCKED turns it into a try-lock for the
// background sealers; readers wait for it instead.
constexpr const char* kLockHeadTry = "SELECT seq, hash FROM audit_head FOR UPDATE SKIP LOCKED";
constexpr const char* kLockHeadWait = "SELECT seq, hash FROM audit_head FOR UPDATE";
// Committed unsealed entries (the partial index audit_log_unsealed), oldest
// id first. Rows of transactions still open are invisible here and are
// sealed by a later pass, after the entries committed before them.
constexpr const char* kSelectPending =
    "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor, kind, release_id, payload::text "
    "FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1";
// One statement for the batch; the trigger checks each row is a pure seal.
constexpr const char* kSeal =
    "UPDATE audit_log AS a SET seq = u.seq, prev_hash = u.prev_hash, hash = u.hash, sealed_at = clock_timestamp() "
    "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u(id, seq, prev_hash, hash) "
    "WHERE a.id = u.id AND a.seq IS NULL RETURNING extract(epoch FROM a.sealed_at - a.at)::float8";
constexpr const char* kUpdateHead = "UPDATE audit_head SET seq = $1, hash = $2";
constexpr const char* kSelectHead = "SELECT seq, hash FROM audit_head";

// Both reads select the same columns in the same order, mapped by FromRow.

constexpr int kVerifyBatch = 2000;

constexpr const char* kListSql =
    "SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, actor, kind, release_id, payload::text, "
    "prev_hash, hash FROM audit_log WHERE seq IS NOT NULL AND ($1::text IS NULL OR release_id = $1)"
    " AND ($2::bigint IS NULL OR seq > $2) AND ($3::bigint IS NULL OR seq < $3)"
    " ORDER BY seq DESC LIMIT $4";
constexpr const char* kVerifySql =
    "SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, actor, kind, release_id, payload::text, "
    "prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";

AuditEntry FromRow(const pqxx::row& row) {
  AuditEntry e;
  e.seq = row[0].as<std::int64_t>();
  e.at = TimePoint(std::chrono::microseconds(row[1].as<std::int64_t>()));
  e.actor = row[2].as<std::string>();
  e.kind = row[3].as<std::string>();
  if (!row[4].is_null()) e.release_id = row[4].as<std::string>();
  e.payload = row[5].as<std::string>();
  e.prev_hash = row[6].as<std::string>();
  e.hash = row[7].as<std::string>();
  return e;
}

// An array literal of integers or lower-case hex strings: neither needs quoting.
template <typename T, typename Get>
std::string ArrayLiteral(const std::vector<T>& items, Get get) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.append(get(items[i]));
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::int64_t AuditRepository::Append(pqxx::work& tx, const AuditEvent& event) {
  return store::Exec1(tx, kInsertEntry, event.actor, std::string(ToString(event.kind)), event.release_id,
                         event.payload)[0]
      .as<std::int64_t>();
}

SealPass AuditRepository::SealPending(pqxx::work& tx, SealerLock lock, int max_entries) {
  SealPass pass;
  const pqxx::result head = store::Exec(tx, lock == SealerLock::kTry ? kLockHeadTry : kLockHeadWait);
  if (head.empty()) return pass;  // another sealer is at work
  pass.locked = true;
  pass.head = AuditHead{head[0][0].as<std::int64_t>(), head[0][1].as<std::string>()};
  std::vector<AuditEntry> pending;
  for (const auto& row : store::Exec(tx, kSelectPending, max_entries)) {
    AuditEntry e;
    e.id = row[0].as<std::int64_t>();
    e.at = TimePoint(std::chrono::microseconds(row[1].as<std::int64_t>()));
    e.actor = row[2].as<std::string>();
    e.kind = row[3].as<std::string>();
    if (!row[4].is_null()) e.release_id = row[4].as<std::string>();
    e.payload = row[5].as<std::string>();
    pending.push_back(std::move(e));
  }
  if (pending.empty()) return pass;
  pass.head = SealAfter(pass.head, pending);
  const pqxx::result updated = store::Exec(
      tx, kSeal, ArrayLiteral(pending, [](const AuditEntry& e) { return std::to_string(e.id); }),
      ArrayLiteral(pending, [](const AuditEntry& e) { return std::to_string(e.seq); }),
      ArrayLiteral(pending, [](const AuditEntry& e) { return e.prev_hash; }),
      ArrayLiteral(pending, [](const AuditEntry& e) { return e.hash; }));
  // Only this sealer updates unsealed rows, under the lock: anything else
  // means the chain would not be what was computed. Roll the pass back.
  if (updated.size() != pending.size()) {
    throw std::logic_error("audit sealing: " + std::to_string(updated.size()) + " of " +
                           std::to_string(pending.size()) + " entries sealed");
  }
  pass.delays_seconds.reserve(updated.size());
  for (const auto& row : updated) pass.delays_seconds.push_back(row[0].as<double>());
  store::Exec0(tx, kUpdateHead, pass.head.seq, pass.head.hash);
  pass.sealed = static_cast<std::int64_t>(pending.size());
  return pass;
}

AuditPage AuditRepository::List(pqxx::transaction_base& tx, const AuditQuery& q) {
  const pqxx::result rows = store::Exec(tx, kListSql, q.release_id, q.after, q.before, q.limit + 1);
  return store::TakePage<AuditEntry>(rows, q.limit, FromRow, [](const AuditEntry& e) { return e.seq; });
}

VerifyResult AuditRepository::Verify(pqxx::transaction_base& tx,
                                     std::optional<AuditHead> expected_head) {
  ChainVerifier verifier;
  std::int64_t cursor = 0;
  bool more = true;
  while (more && verifier.ok()) {
    const pqxx::result rows = store::Exec(tx, kVerifySql, cursor, kVerifyBatch);
    more = static_cast<int>(rows.size()) == kVerifyBatch;
    for (const auto& row : rows) {
      AuditEntry e = FromRow(row);
      cursor = e.seq;
      if (!verifier.Feed(e)) break;
    }
  }
  if (expected_head) {
    std::optional<std::string> hash_at;
    const pqxx::result r =
        store::Exec(tx, "SELECT hash FROM audit_log WHERE seq = $1", expected_head->seq);
    if (!r.empty()) hash_at = r[0][0].as<std::string>();
    verifier.CheckHead(expected_head->seq, expected_head->hash, hash_at);
  }
  return VerifyResult{verifier.ok(), verifier.checked(), verifier.first_bad_seq()};
}

AuditHead AuditRepository::Head(pqxx::transaction_base& tx) {
  const pqxx::row row = tx.exec1(kSelectHead);
  return AuditHead{row[0].as<std::int64_t>(), row[1].as<std::string>()};
}

}  // namespace backstop::audit
