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

// How a sealing transaction takes the sealer's lock (the audit_head row).
enum class SealerLock {
  kTry,   // skip the pass if another sealer holds it (the background sealers)
  kWait,  // wait for it (readers that must see every committed entry sealed)
};

struct SealPass {
  bool locked = false;      // false: another sealer held the lock (kTry)
  std::int64_t sealed = 0;  // entries sealed by this pass
  AuditHead head;           // the head after the pass (when locked)
  // Per entry sealed, seconds from its INSERT to its sealing (the database's clock).
  std::vector<double> delays_seconds;
};

// Reads, appends and seals the audit log.
//
// Appends take the caller's transaction, so an event and its audit entry
// commit (or roll back) together. An appended entry is unsealed: it holds no
// seq and no hashes, and appending touches no shared row, so audited
// transactions never wait for each other. SealPending, in a short
// transaction of its own, chains the committed unsealed entries after the
// head. Lists, verification and the head show sealed entries only.
class AuditRepository {
 public:
  // Inserts the entry unsealed in `tx`; returns its id.
  static std::int64_t Append(pqxx::work& tx, const AuditEvent& event);

  // Seals up to `max_entries` committed unsealed entries in id order, holding
  // the audit_head row lock until `tx` ends (one sealer at a time, whatever
  // the process; a sealer that dies mid-pass rolls back and the next one
  // seals the same entries). `tx` must be read committed and do nothing
  // else: after the lock, each statement sees what earlier sealers committed.
  static SealPass SealPending(pqxx::work& tx, SealerLock lock, int max_entries);

  static AuditPage List(pqxx::transaction_base& tx, const AuditQuery& query);

  // Walks the whole chain in seq order, in batches. With a head recorded
  // elsewhere, also checks the chain still reaches it (a cut-off tail).
  static VerifyResult Verify(pqxx::transaction_base& tx,
                             std::optional<AuditHead> expected_head = std::nullopt);

  static AuditHead Head(pqxx::transaction_base& tx);
};

}  // namespace backstop::audit
