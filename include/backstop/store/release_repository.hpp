#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/common/result.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/store/paging.hpp"

namespace backstop::store {

// Release statuses (DESIGN "Release status").
inline constexpr const char* kStatusEvaluating = "evaluating";
inline constexpr const char* kStatusHealthy = "healthy";
inline constexpr const char* kStatusRollingBack = "rolling_back";
inline constexpr const char* kStatusRolledBack = "rolled_back";
inline constexpr const char* kStatusRollbackFailed = "rollback_failed";
inline constexpr const char* kStatusEscalated = "escalated";
inline constexpr const char* kStatusRollbackRejected = "rollback_rejected";
inline constexpr const char* kStatusSuperseded = "superseded";
bool IsReleaseStatus(const std::string& s);

struct Release {
  std::int64_t seq = 0;
  std::string id;
  std::string service;
  std::string environment;
  std::string version;
  std::optional<std::string> previous_version;
  std::string release_class;
  std::int64_t thresholds_version = 0;
  double traffic_percent = 0;
  bool shared_infrastructure = false;
  std::string status;
  std::string deployed_by;
  std::optional<std::string> triggered_by;
  std::optional<std::string> metadata;  // JSON text
  std::string request_body;             // JSON text as posted
  TimePoint started_at{};
  TimePoint updated_at{};
  int episode = 1;
};

// A validated deployment event.
struct NewRelease {
  std::string id;
  bool id_from_client = false;
  std::string service;
  std::string environment;
  std::string version;
  std::optional<std::string> previous_version;
  std::string release_class;
  double traffic_percent = 0;
  bool shared_infrastructure = false;
  std::optional<std::string> triggered_by;
  std::optional<std::string> metadata;
  std::string request_body;             // canonical serialization of the posted JSON
};

struct RegisterOutcome {
  Release release;
  bool created = false;                 // false: an idempotent replay of the same event
  std::vector<std::string> superseded;  // ids of releases this one superseded
};

struct ReleaseQuery {
  std::optional<std::string> service;
  std::optional<std::string> environment;
  std::optional<std::string> status;
  std::optional<std::int64_t> before_seq;  // cursor
  int limit = 100;
};

using ReleasePage = Page<Release>;  // newest first

class ReleaseRepository {
 public:
  // Registers a release in `tx`: pins the newest threshold version of its
  // class, supersedes the service/environment's release in progress, audits
  // both. Same id and same body → the stored release (created = false); same
  // id, other body → conflict `idempotency_mismatch`. Registrations of one
  // service/environment serialize on an advisory lock.
  static Result<RegisterOutcome> Register(pqxx::work& tx, const NewRelease& r,
                                          const std::string& deployed_by);

  static std::optional<Release> Find(pqxx::transaction_base& tx, const std::string& id);
  static ReleasePage List(pqxx::transaction_base& tx, const ReleaseQuery& q);

  // Changes traffic_percent of a release in progress, audited.
  static Result<Release> SetTraffic(pqxx::work& tx, const std::string& id, double traffic_percent,
                                    const std::string& actor);

  // Releases still under evaluation or waiting on a human.
  static std::int64_t CountActive(pqxx::transaction_base& tx);

  // Releases the evaluator looks at: evaluating or escalated.
  static std::vector<Release> ListEvaluable(pqxx::transaction_base& tx);

  // Releases rolled back within `since` (database clock), for post-rollback verification.
  static std::vector<Release> ListRolledBackWithin(pqxx::transaction_base& tx, Millis since);

  // Locks the release row for a decision (FOR UPDATE).
  static std::optional<Release> Lock(pqxx::work& tx, const std::string& id);
};

}  // namespace backstop::store
