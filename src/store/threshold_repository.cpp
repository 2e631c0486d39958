#include "backstop/store/threshold_repository.hpp"

#include <boost/json.hpp>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kInsert =
    "INSERT INTO threshold_sets (release_class, version, sha256, body, source_file) "
    "VALUES ($1, $2, $3, $4::json, $5) ON CONFLICT (release_class, version) DO NOTHING RETURNING sha256";
constexpr const char* kSelectSha =
    "SELECT sha256 FROM threshold_sets WHERE release_class = $1 AND version = $2";
constexpr const char* kSelectAll =
    "SELECT release_class, version, sha256, body::text, source_file, "
    "(extract(epoch FROM loaded_at) * 1000000)::bigint "
    "FROM threshold_sets ORDER BY loaded_at DESC, version DESC, release_class";

void Audit(pqxx::work& tx, const std::string& actor, audit::AuditKind kind, const FileLoadOutcome& o,
           const std::optional<std::string>& sha) {
  boost::json::object payload{{"file", o.file}, {"result", o.result}};
  payload["release_class"] = o.release_class ? boost::json::value(*o.release_class) : nullptr;
  payload["version"] = o.version ? boost::json::value(*o.version) : nullptr;
  if (sha) payload["sha256"] = *sha;
  if (o.error_code) payload["error"] = {{"code", *o.error_code}, {"message", *o.error_message}};
  audit::AuditRepository::Append(
      tx, audit::AuditEvent{actor, kind, std::nullopt, boost::json::serialize(payload)});
}

}  // namespace

FileLoadOutcome ThresholdRepository::Store(pqxx::work& tx, const std::string& file,
                                           const policy::ParseResult& parsed,
                                           const std::string& actor) {
  FileLoadOutcome out;
  out.file = file;
  if (!parsed.set) {
    out.result = "rejected";
    out.error_code = "invalid";
    std::string message;
    for (const auto& e : parsed.errors) {
      message += (message.empty() ? "" : "; ") + e.field + ": " + e.reason;
    }
    out.error_message = message;
    Audit(tx, actor, audit::AuditKind::kThresholdsRejected, out, std::nullopt);
    return out;
  }
  const auto& set = *parsed.set;
  out.release_class = set.release_class;
  out.version = set.version;
  const std::string sha = policy::ContentSha256(set);
  const pqxx::result inserted = Exec(tx, kInsert, set.release_class, set.version, sha,
                                               policy::CanonicalJson(set), file);
  if (!inserted.empty()) {
    out.result = "loaded";
    Audit(tx, actor, audit::AuditKind::kThresholdsLoaded, out, sha);
    return out;
  }
  const std::string stored = Exec1(tx, kSelectSha, set.release_class, set.version)[0].as<std::string>();
  if (stored == sha) {
    out.result = "unchanged";
    return out;
  }
  out.result = "rejected";
  out.error_code = "version_conflict";
  out.error_message = "release_class " + set.release_class + " version " + std::to_string(set.version) +
                      " is already stored with other content (sha256 " + stored.substr(0, 12) +
                      "...); bump the version";
  Audit(tx, actor, audit::AuditKind::kThresholdsRejected, out, sha);
  return out;
}

std::vector<StoredThresholdSet> ThresholdRepository::ListAll(pqxx::transaction_base& tx) {
  std::vector<StoredThresholdSet> out;
  for (const auto& row : tx.exec(kSelectAll)) {
    StoredThresholdSet s;
    s.release_class = row[0].as<std::string>();
    s.version = row[1].as<std::int64_t>();
    s.sha256 = row[2].as<std::string>();
    s.body = row[3].as<std::string>();
    s.source_file = row[4].as<std::string>();
    s.loaded_at = TimePoint(std::chrono::microseconds(row[5].as<std::int64_t>()));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace backstop::store
