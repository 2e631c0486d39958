#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "backstop/audit/audit_kind.hpp"
#include "backstop/common/time_format.hpp"

namespace backstop::audit {

// One row of the append-only audit log. `payload` is JSON text, stored and
// hashed byte for byte (the column is `json`, not `jsonb`, so PostgreSQL
// keeps the exact text). An entry is written unsealed (seq 0, no hashes)
// and sealed into the chain later; `id` is its identity from insertion on
// and is not hashed.
struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t seq = 0;
  TimePoint at{};
  std::string actor;
  std::string kind;
  std::optional<std::string> release_id;
  std::string payload = "{}";
  std::string prev_hash;
  std::string hash;
};

// The newest sealed entry: what the next sealed entry chains to, and what is
// exported so a cut-off tail can be caught (DESIGN "Audit log").
struct AuditHead {
  std::int64_t seq = 0;
  std::string hash;
};

// What a caller appends; at is the database's clock at insertion; seq and
// the hashes are assigned by the sealer.
struct AuditEvent {
  std::string actor;
  AuditKind kind = AuditKind::kModeChanged;
  std::optional<std::string> release_id;
  std::string payload = "{}";
};

}  // namespace backstop::audit
