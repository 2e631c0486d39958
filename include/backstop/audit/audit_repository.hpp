#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/audit/audit_entry.hpp"
#include "backstop/store/paging.hpp"

namespace backstop::audit {

struct AuditQuery {
  std::optional<std::string> release_id;
  std::optional<std::int64_t> after;   // keep seq > after
  std::optional<std::int64_t> before;  // cursor: keep seq < before
  int limit = 100;
};

using AuditPage = store::Page<AuditEntry>;  // newest first

struct VerifyResult {
  bool ok = true;
  std::int64_t checked = 0;
  std::optional<std::int64_t> first_bad_seq;
};

struct AuditHead {
  std::int64_t seq = 0;
  std::string hash;
};

// Reads and appends the audit log. Appends take the caller's transaction, so
// an event and its audit row commit (or roll back) together.
class AuditRepository {
 public:
  // Appends in `tx`, holding the chain-head row lock until `tx` ends; that
  // lock is what serializes concurrent appenders (no forks, no seq gaps).
  static AuditEntry Append(pqxx::work& tx, const AuditEvent& event);

  static AuditPage List(pqxx::transaction_base& tx, const AuditQuery& query);

  // Walks the whole chain in seq order, in batches. With a head recorded
  // elsewhere, also checks the chain still reaches it (a cut-off tail).
  static VerifyResult Verify(pqxx::transaction_base& tx,
                             std::optional<AuditHead> expected_head = std::nullopt);

  static AuditHead Head(pqxx::transaction_base& tx);
};

}  // namespace backstop::audit
