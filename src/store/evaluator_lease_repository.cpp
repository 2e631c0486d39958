#include "backstop/store/evaluator_lease_repository.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kAcquire =
    "UPDATE evaluator_lease SET epoch = CASE WHEN owner = $1 THEN epoch ELSE epoch + 1 END, "
    "owner = $1, expires_at = now() + $2 * interval '1 millisecond' "
    "WHERE owner = $1 OR expires_at < now() RETURNING epoch";
// The owner must be exactly the instance id, a colon and 8 hex digits, so
// instance "a" never takes the lease of instance "a:b" (owner "a:b:0123abcd").
constexpr const char* kTakeFromPreviousLife =
    "UPDATE evaluator_lease SET epoch = epoch + 1, owner = $2, expires_at = now() + $3 * interval '1 millisecond' "
    "WHERE owner <> $2 AND left(owner, length($1)) = $1 AND substr(owner, length($1) + 1) ~ '^:[0-9a-f]{8}$' "
    "RETURNING epoch";
constexpr const char* kRelease = "UPDATE evaluator_lease SET expires_at = now() WHERE owner = $1";
constexpr const char* kIsHeld =
    "SELECT 1 FROM evaluator_lease WHERE owner = $1 AND epoch = $2 AND expires_at > now() FOR SHARE";

}  // namespace

std::optional<std::int64_t> EvaluatorLeaseRepository::Acquire(pqxx::work& tx, const std::string& owner,
                                                              Millis lease) {
  const pqxx::result r = Exec(tx, kAcquire, owner, static_cast<std::int64_t>(lease.count()));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

std::optional<std::int64_t> EvaluatorLeaseRepository::TakeFromPreviousLife(pqxx::work& tx,
                                                                            const std::string& instance_id,
                                                                            const std::string& owner, Millis lease) {
  const pqxx::result r =
      Exec(tx, kTakeFromPreviousLife, instance_id, owner, static_cast<std::int64_t>(lease.count()));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

void EvaluatorLeaseRepository::Release(pqxx::work& tx, const std::string& owner) { Exec(tx, kRelease, owner); }

bool EvaluatorLeaseRepository::IsHeld(pqxx::work& tx, const std::string& owner, std::int64_t epoch) {
  return !Exec(tx, kIsHeld, owner, epoch).empty();
}


}  // namespace backstop::store
