#include "backstop/audit/audit_repository.hpp"

#include "backstop/audit/hash_chain.hpp"

namespace backstop::audit {

namespace {

constexpr const char* kLockHead =
    "SELECT seq, hash, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint "
    "FROM audit_head FOR UPDATE";
constexpr const char* kInsertEntry =
    "INSERT INTO audit_log (seq, at, actor, kind, release_id, payload, prev_hash, hash) "
    "VALUES ($1, timestamptz 'epoch' + $2 * interval '1 microsecond', $3, $4, $5, $6::json, $7, $8)";
constexpr const char* kUpdateHead = "UPDATE audit_head SET seq = $1, hash = $2";
constexpr const char* kSelectHead = "SELECT seq, hash FROM audit_head";

// Both reads select the same columns in the same order, mapped by FromRow.

constexpr int kVerifyBatch = 2000;

constexpr const char* kListSql =
    "SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, actor, kind, release_id, payload::text, "
    "prev_hash, hash FROM audit_log WHERE ($1::text IS NULL OR release_id = $1)"
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

}  // namespace

AuditEntry AuditRepository::Append(pqxx::work& tx, const AuditEvent& event) {
  const pqxx::row head = tx.exec1(kLockHead);
  AuditEntry e;
  e.seq = head[0].as<std::int64_t>() + 1;
  e.prev_hash = head[1].as<std::string>();
  e.at = TimePoint(std::chrono::microseconds(head[2].as<std::int64_t>()));
  e.actor = event.actor;
  e.kind = std::string(ToString(event.kind));
  e.release_id = event.release_id;
  e.payload = event.payload;
  e.hash = ComputeHash(e);
  tx.exec_params0(kInsertEntry, e.seq, e.at.time_since_epoch().count(), e.actor, e.kind,
                  e.release_id, e.payload, e.prev_hash, e.hash);
  tx.exec_params0(kUpdateHead, e.seq, e.hash);
  return e;
}

AuditPage AuditRepository::List(pqxx::transaction_base& tx, const AuditQuery& q) {
  const pqxx::result rows = tx.exec_params(kListSql, q.release_id, q.after, q.before, q.limit + 1);
  return store::TakePage<AuditEntry>(rows, q.limit, FromRow, [](const AuditEntry& e) { return e.seq; });
}

VerifyResult AuditRepository::Verify(pqxx::transaction_base& tx,
                                     std::optional<AuditHead> expected_head) {
  ChainVerifier verifier;
  std::int64_t cursor = 0;
  bool more = true;
  while (more && verifier.ok()) {
    const pqxx::result rows = tx.exec_params(kVerifySql, cursor, kVerifyBatch);
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
        tx.exec_params("SELECT hash FROM audit_log WHERE seq = $1", expected_head->seq);
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
