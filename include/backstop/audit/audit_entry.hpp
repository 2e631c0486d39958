#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "backstop/audit/audit_kind.hpp"
#include "backstop/common/time_format.hpp"

namespace backstop::audit {

// One row of the append-only audit log. `payload` is JSON text, stored and
// hashed byte for byte (the column is `json`, not `jsonb`, so PostgreSQL
// keeps the exact text).
struct AuditEntry {
  std::int64_t seq = 0;
  TimePoint at{};
  std::string actor;
  std::string kind;
  std::optional<std::string> release_id;
  std::string payload = "{}";
  std::string prev_hash;
  std::string hash;
};

// What a caller appends; seq, at and the hashes are assigned by the chain.
struct AuditEvent {
  std::string actor;
  AuditKind kind = AuditKind::kModeChanged;
  std::optional<std::string> release_id;
  std::string payload = "{}";
};

}  // namespace backstop::audit
