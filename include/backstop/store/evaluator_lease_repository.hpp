#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"

namespace backstop::store {

// The single evaluator lease row (migration 0004): one process at a time
// evaluates. Times come from the database's clock.
class EvaluatorLeaseRepository {
 public:
  // Renews `owner`'s lease, or takes an expired one (a new epoch). Returns
  // the epoch held, or nullopt while another owner holds a live lease.
  static std::optional<std::int64_t> Acquire(pqxx::work& tx, const std::string& owner, Millis lease);
  // Takes the lease, live or not, from a previous life of this process:
  // an owner named `instance_id` ":" and 8 lowercase hex digits other than
  // `owner` itself (EvaluatorLease names its owner that way). A new epoch,
  // so whatever that life had in flight is fenced out. Returns the epoch, or
  // nullopt when the lease belongs to another instance (or to `owner`).
  static std::optional<std::int64_t> TakeFromPreviousLife(pqxx::work& tx, const std::string& instance_id,
                                                          const std::string& owner, Millis lease);
  // Lets the lease expire now, so a standby takes over at its next tick.
  static void Release(pqxx::work& tx, const std::string& owner);
  // True while `owner` holds the lease at `epoch`; the share lock keeps a
  // takeover from committing until `tx` ends (the fence of every decision).
  static bool IsHeld(pqxx::work& tx, const std::string& owner, std::int64_t epoch);
};

}  // namespace backstop::store
