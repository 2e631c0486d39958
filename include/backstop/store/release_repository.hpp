#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/common/result.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/evaluate.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/store/paging.hpp"

namespace backstop::store {

struct Release {
  std::int64_t seq = 0;
  std::string id;
  std::string service;
  std::string environment;
  std::string version;
  std::optional<std::string> previous_version;
  bool previous_version_inferred = false;  // taken from the newest healthy release, not given
  std::string release_class;
  std::int64_t thresholds_version = 0;
  double traffic_percent = 0;
  bool shared_infrastructure = false;
  domain::ReleaseStatus status = domain::ReleaseStatus::kEvaluating;
  std::string deployed_by;
  std::optional<std::string> triggered_by;
  std::optional<std::string> metadata;  // JSON text
  std::string request_body;             // JSON text as posted
  TimePoint started_at{};
  TimePoint updated_at{};
  int episode = 1;
};

// What the pure decision core knows of a release.
decision::ReleaseFacts FactsOf(const Release& r);

// A validated deployment event.
struct NewRelease {
  std::string id;
  bool id_from_client = false;
  std::string service;
  std::string environment;
  std::string version;
  std::optional<std::string> previous_version;
  bool previous_version_inferred = false;  // set by the workflow, never by a client
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
  std::vector<std::string> superseded;  // ids of releases this one superseded (filled by the workflow)
};

struct ReleaseQuery {
  std::optional<std::string> service;
  std::optional<std::string> environment;
  std::optional<domain::ReleaseStatus> status;
  std::optional<std::int64_t> before_seq;  // cursor
  int limit = 100;
};

using ReleasePage = Page<Release>;  // newest first

// The releases table. Status moves only through Transition (and
// SupersedeInProgress), which refuse a move DESIGN does not allow; the
// workflow layer decides which move to make.
class ReleaseRepository {
 public:
  // Inserts a release in `tx`, pinned to the newest threshold version of its
  // class. Same id and same body → the stored release (created = false);
  // same id, other body → conflict `idempotency_mismatch`. Without a client
  // id, a deployment equal as JSON to the newest release of its service and
  // environment (same version) is that release (created = false). Its
  // INSERT takes LockServiceEnvironment, so registrations of one
  // service/environment serialize until `tx` ends. Without a client id it
  // reads the newest release first: the caller must hold the lock already
  // then (as for any read of the service's releases before Insert).
  static Result<RegisterOutcome> Insert(pqxx::work& tx, const NewRelease& r, const std::string& deployed_by);

  // Serializes registrations of one service/environment until `tx` ends
  // (Insert's INSERT takes it too; a transaction may take it again).
  static void LockServiceEnvironment(pqxx::work& tx, const std::string& service, const std::string& environment);

  // The version of the newest `healthy` release of a service/environment
  // whose version is not `except_version` (a redeploy of the same version
  // cannot roll back to itself).
  static std::optional<std::string> NewestHealthyVersion(pqxx::transaction_base& tx, const std::string& service,
                                                         const std::string& environment,
                                                         const std::string& except_version);

  // Moves the release to `to` if its status is one of `allowed_from`; false
  // when it is not (the row is unchanged). Throws std::logic_error for a
  // move DESIGN does not allow: that is a bug in the caller.
  static bool Transition(pqxx::work& tx, const std::string& id,
                         std::initializer_list<domain::ReleaseStatus> allowed_from, domain::ReleaseStatus to);

  // Supersedes the releases of a service/environment still in progress
  // (not finished, no rollback in flight) other than `except_id`; returns their ids.
  static std::vector<std::string> SupersedeInProgress(pqxx::work& tx, const std::string& service,
                                                      const std::string& environment, const std::string& except_id);

  // A fresh episode: the next evaluation may decide again.
  static void StartNewEpisode(pqxx::work& tx, const std::string& id);

  static std::optional<Release> Find(pqxx::transaction_base& tx, const std::string& id);
  static ReleasePage List(pqxx::transaction_base& tx, const ReleaseQuery& q);
  // The id of the newest release of a service/environment.
  static std::optional<std::string> NewestIdFor(pqxx::transaction_base& tx, const std::string& service,
                                                const std::string& environment);

  // Changes traffic_percent of a release in progress (the caller audits).
  static Result<Release> SetTraffic(pqxx::work& tx, const std::string& id, double traffic_percent);

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
