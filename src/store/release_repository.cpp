#include "backstop/store/release_repository.hpp"

#include <boost/json.hpp>

#include <stdexcept>

#include "backstop/store/row_helpers.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kColumns =
    "seq, id, service, environment, version, previous_version, release_class, thresholds_version, "
    "traffic_percent, shared_infrastructure, status, deployed_by, triggered_by, metadata::text, "
    "request_body, " BACKSTOP_EPOCH_MICROS("started_at") ", " BACKSTOP_EPOCH_MICROS("updated_at") ", episode, "
    "previous_version_inferred";

// Serializes registrations of one service/environment (supersession is
// decided by what was registered before, so two at once must not interleave).
// A transaction-level advisory lock: taking it again while held is a no-op.
#define BACKSTOP_SERVICE_LOCK(service, environment) \
  "pg_advisory_xact_lock(hashtextextended('release:' || " service " || '/' || " environment ", 0))"
constexpr const char* kLockServiceEnv = "SELECT " BACKSTOP_SERVICE_LOCK("$1", "$2");
constexpr const char* kNewestThresholds =
    "SELECT max(version) FROM threshold_sets WHERE release_class = $1";
constexpr const char* kSupersede =
    "UPDATE releases SET status = $4, updated_at = now() "
    "WHERE service = $1 AND environment = $2 AND id <> $3 AND status = ANY($5::text[]) RETURNING id";
constexpr const char* kTransition =
    "UPDATE releases SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::text[]) RETURNING id";
constexpr const char* kNewEpisode = "UPDATE releases SET episode = episode + 1, updated_at = now() WHERE id = $1";
constexpr const char* kNewestHealthyVersion =
    "SELECT version FROM releases WHERE service = $1 AND environment = $2 AND status = 'healthy' "
    "AND version <> $3 ORDER BY seq DESC LIMIT 1";
constexpr const char* kNewestFor =
    "SELECT id FROM releases WHERE service = $1 AND environment = $2 ORDER BY seq DESC LIMIT 1";
constexpr const char* kSetTraffic =
    "UPDATE releases SET traffic_percent = $2, updated_at = now() WHERE id = $1 "
    "AND status IN ('evaluating', 'escalated', 'rollback_rejected') RETURNING id";
// A release in progress: not finished and no rollback in flight.
constexpr domain::ReleaseStatus kInProgress[] = {
    domain::ReleaseStatus::kEvaluating, domain::ReleaseStatus::kEscalated,
    domain::ReleaseStatus::kRollbackRejected, domain::ReleaseStatus::kRollbackFailed};
// Pinned to the newest threshold version of the class, and holding the
// service/environment lock before the row exists, in the same statement (two
// statements folded into it); no row when the class is unknown or the id
// exists. The lock's subquery is volatile, so it is run, once, before the
// row is formed; statements after this one see every registration of the
// service/environment committed before the lock was granted.
constexpr const char* kInsert =
    "INSERT INTO releases (id, service, environment, version, previous_version, release_class, "
    "thresholds_version, traffic_percent, shared_infrastructure, status, deployed_by, triggered_by, "
    "metadata, request_body, previous_version_inferred) SELECT $1, $2, $3, $4, $5, $6, newest.version, $7, $8, "
    "'evaluating', $9, $10, $11::json, $12, $13 FROM (SELECT max(version) AS version FROM threshold_sets "
    "WHERE release_class = $6) AS newest CROSS JOIN (SELECT " BACKSTOP_SERVICE_LOCK("$2", "$3") ") AS service_lock "
    "WHERE newest.version IS NOT NULL ON CONFLICT (id) DO NOTHING RETURNING ";
constexpr const char* kActiveStatuses = "('evaluating', 'escalated', 'rolling_back')";

Release FromRow(const pqxx::row& row) {
  Release r;
  r.seq = row[0].as<std::int64_t>();
  r.id = row[1].as<std::string>();
  r.service = row[2].as<std::string>();
  r.environment = row[3].as<std::string>();
  r.version = row[4].as<std::string>();
  if (!row[5].is_null()) r.previous_version = row[5].as<std::string>();
  r.release_class = row[6].as<std::string>();
  r.thresholds_version = row[7].as<std::int64_t>();
  r.traffic_percent = row[8].as<double>();
  r.shared_infrastructure = row[9].as<bool>();
  const auto status = domain::ParseReleaseStatus(row[10].as<std::string>());
  if (!status) throw std::runtime_error("release " + r.id + ": unknown status " + row[10].as<std::string>());
  r.status = *status;
  r.deployed_by = row[11].as<std::string>();
  if (!row[12].is_null()) r.triggered_by = row[12].as<std::string>();
  if (!row[13].is_null()) r.metadata = row[13].as<std::string>();
  r.request_body = row[14].as<std::string>();
  r.started_at = TimeFromMicros(row[15]);
  r.updated_at = TimeFromMicros(row[16]);
  r.episode = row[17].as<int>();
  r.previous_version_inferred = row[18].as<bool>();
  return r;
}

// JSON equality where numbers compare by value (50 equals 50.0) and
// object key order does not matter.
bool JsonEqual(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const auto& oa = a.as_object();
    const auto& ob = b.as_object();
    if (oa.size() != ob.size()) return false;
    for (const auto& kv : oa) {
      const auto* other = ob.if_contains(kv.key());
      if (other == nullptr || !JsonEqual(kv.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& xa = a.as_array();
    const auto& xb = b.as_array();
    if (xa.size() != xb.size()) return false;
    for (std::size_t i = 0; i < xa.size(); ++i) {
      if (!JsonEqual(xa[i], xb[i])) return false;
    }
    return true;
  }
  return a == b;
}

// "Same body" means equal as JSON (key order, spacing and 50 vs 50.0 do not matter).
bool SameJson(const std::string& a, const std::string& b) {
  boost::system::error_code ea, eb;
  const auto va = boost::json::parse(a, ea);
  const auto vb = boost::json::parse(b, eb);
  return !ea && !eb && JsonEqual(va, vb);
}

Result<RegisterOutcome> Replay(const Release& existing, const NewRelease& r) {
  if (!SameJson(existing.request_body, r.request_body)) {
    return Error::Conflict("idempotency_mismatch",
                           "a deployment with id " + r.id + " exists with a different body");
  }
  return RegisterOutcome{existing, false, {}};
}

}  // namespace

template <typename Range>
static std::string StatusArray(const Range& statuses) {
  std::vector<std::string> names;
  for (auto st : statuses) names.emplace_back(domain::ToString(st));
  return TextArrayLiteral(names);
}

void ReleaseRepository::LockServiceEnvironment(pqxx::work& tx, const std::string& service,
                                               const std::string& environment) {
  Exec(tx, kLockServiceEnv, service, environment);
}

std::optional<std::string> ReleaseRepository::NewestHealthyVersion(pqxx::transaction_base& tx,
                                                                   const std::string& service,
                                                                   const std::string& environment,
                                                                   const std::string& except_version) {
  const pqxx::result r = Exec(tx, kNewestHealthyVersion, service, environment, except_version);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

Result<RegisterOutcome> ReleaseRepository::Insert(pqxx::work& tx, const NewRelease& r,
                                                  const std::string& deployed_by) {
  // With a client's id, a retry finds its release through the insert's
  // conflict below: one statement fewer on the common path, a new release.
  if (!r.id_from_client) {
    if (auto newest = NewestIdFor(tx, r.service, r.environment)) {
      // DESIGN "Deployment id": without an id, the same deployment as the
      // newest release of its service and environment (same version, body
      // equal as JSON) is that release — a client retrying after a 503 must
      // not register it twice. A body that carried an id never equals one
      // without, and the lock the caller took before this read keeps a
      // concurrent retry from slipping in.
      auto existing = Find(tx, *newest);
      if (existing && existing->version == r.version && SameJson(existing->request_body, r.request_body)) {
        return RegisterOutcome{*existing, false, {}};
      }
    }
  }
  const pqxx::result inserted = Exec(tx,
      std::string(kInsert) + kColumns, r.id, r.service, r.environment, r.version, r.previous_version, r.release_class,
      r.traffic_percent, r.shared_infrastructure, deployed_by, r.triggered_by, r.metadata, r.request_body,
      r.previous_version_inferred);
  if (inserted.empty()) {
    // An unknown class, registered before (a retry), or registered
    // concurrently under another service/environment lock.
    if (Exec1(tx, kNewestThresholds, r.release_class)[0].is_null()) {
      return Error::InvalidInput("release_class: unknown release class " + r.release_class, {"release_class"});
    }
    auto existing = Find(tx, r.id);
    if (!existing) return Error::Conflict("conflict", "release " + r.id + " is being registered");
    return Replay(*existing, r);
  }
  RegisterOutcome out;
  out.created = true;
  out.release = FromRow(inserted[0]);
  return out;
}

decision::ReleaseFacts FactsOf(const Release& r) {
  return decision::ReleaseFacts{r.id, r.service, r.environment, r.version, r.previous_version,
                                r.traffic_percent, r.shared_infrastructure, r.started_at};
}

bool ReleaseRepository::Transition(pqxx::work& tx, const std::string& id,
                                   std::initializer_list<domain::ReleaseStatus> allowed_from,
                                   domain::ReleaseStatus to) {
  for (auto from : allowed_from) {
    if (!domain::IsLegalTransition(from, to)) {
      throw std::logic_error("illegal release transition " + std::string(domain::ToString(from)) + " -> " +
                             std::string(domain::ToString(to)));
    }
  }
  return !Exec(tx, kTransition, id, std::string(domain::ToString(to)), StatusArray(allowed_from)).empty();
}

std::vector<std::string> ReleaseRepository::SupersedeInProgress(pqxx::work& tx, const std::string& service,
                                                                const std::string& environment,
                                                                const std::string& except_id) {
  std::vector<std::string> out;
  for (const auto& row : Exec(tx, kSupersede, service, environment, except_id,
                              std::string(domain::ToString(domain::ReleaseStatus::kSuperseded)),
                              StatusArray(kInProgress))) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

void ReleaseRepository::StartNewEpisode(pqxx::work& tx, const std::string& id) { Exec0(tx, kNewEpisode, id); }

std::optional<std::string> ReleaseRepository::NewestIdFor(pqxx::transaction_base& tx, const std::string& service,
                                                          const std::string& environment) {
  const pqxx::result r = Exec(tx, kNewestFor, service, environment);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<Release> ReleaseRepository::Find(pqxx::transaction_base& tx, const std::string& id) {
  const pqxx::result r =
      Exec(tx, std::string("SELECT ") + kColumns + " FROM releases WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return FromRow(r[0]);
}

ReleasePage ReleaseRepository::List(pqxx::transaction_base& tx, const ReleaseQuery& q) {
  const pqxx::result rows = Exec(tx,
      std::string("SELECT ") + kColumns +
          " FROM releases WHERE ($1::text IS NULL OR service = $1) AND ($2::text IS NULL OR environment = $2)"
          " AND ($3::text IS NULL OR status = $3) AND ($4::bigint IS NULL OR seq < $4)"
          " ORDER BY seq DESC LIMIT $5",
      q.service, q.environment,
      q.status ? std::optional<std::string>(domain::ToString(*q.status)) : std::nullopt, q.before_seq, q.limit + 1);
  return TakePage<Release>(rows, q.limit, FromRow, [](const Release& r) { return r.seq; });
}

Result<Release> ReleaseRepository::SetTraffic(pqxx::work& tx, const std::string& id, double traffic_percent) {
  if (Exec(tx, kSetTraffic, id, traffic_percent).empty()) {
    auto existing = Find(tx, id);
    if (!existing) return Error::NotFound("no release " + id);
    return Error::Conflict("release_ended", "release " + id + " is " + std::string(domain::ToString(existing->status)) +
                                                "; its traffic can no longer change");
  }
  return *Find(tx, id);
}

std::int64_t ReleaseRepository::CountActive(pqxx::transaction_base& tx) {
  return tx.exec1(std::string("SELECT count(*) FROM releases WHERE status IN ") + kActiveStatuses)[0]
      .as<std::int64_t>();
}

std::vector<Release> ReleaseRepository::ListEvaluable(pqxx::transaction_base& tx) {
  std::vector<Release> out;
  for (const auto& row : tx.exec(std::string("SELECT ") + kColumns +
                                 " FROM releases WHERE status IN ('evaluating', 'escalated') ORDER BY seq")) {
    out.push_back(FromRow(row));
  }
  return out;
}

std::vector<Release> ReleaseRepository::ListRolledBackWithin(pqxx::transaction_base& tx, Millis since) {
  std::vector<Release> out;
  for (const auto& row : Exec(tx, std::string("SELECT ") + kColumns +
                                       " FROM releases WHERE status = 'rolled_back' "
                                       "AND updated_at > now() - $1 * interval '1 millisecond' ORDER BY seq",
                              static_cast<std::int64_t>(since.count()))) {
    out.push_back(FromRow(row));
  }
  return out;
}

std::optional<Release> ReleaseRepository::Lock(pqxx::work& tx, const std::string& id) {
  const pqxx::result r =
      Exec(tx, std::string("SELECT ") + kColumns + " FROM releases WHERE id = $1 FOR UPDATE", id);
  if (r.empty()) return std::nullopt;
  return FromRow(r[0]);
}

}  // namespace backstop::store
