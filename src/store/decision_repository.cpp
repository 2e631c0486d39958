#include "backstop/store/decision_repository.hpp"

#include <stdexcept>

#include "backstop/common/identifiers.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kInsertReal =
    "INSERT INTO decisions (id, release_id, episode, decision, reasons, evidence, thresholds_version, mode) "
    "VALUES ($1, $2, $3, $4, $5::json, $6::json, $7, $8) "
    "ON CONFLICT (release_id, episode) WHERE decision IN ('auto_rollback', 'escalate', 'healthy') "
    "DO NOTHING RETURNING id";
constexpr const char* kInsertDryRun =
    "INSERT INTO decisions (id, release_id, episode, decision, reasons, evidence, thresholds_version, mode) "
    "VALUES ($1, $2, $3, $4, $5::json, $6::json, $7, $8) "
    "ON CONFLICT (release_id, episode, decision) WHERE decision IN ('would_rollback', 'would_escalate') "
    "DO NOTHING RETURNING id";
constexpr const char* kList =
    "SELECT id, release_id, episode, decision, reasons::text, evidence::text, thresholds_version, mode, "
    BACKSTOP_EPOCH_MICROS("at") " FROM decisions WHERE release_id = ANY($1::text[]) ORDER BY at DESC, id";

DecisionRow FromRow(const pqxx::row& r) {
  DecisionRow d;
  d.id = r[0].as<std::string>();
  d.release_id = r[1].as<std::string>();
  d.episode = r[2].as<int>();
  const auto kind = decision::ParseDecisionKind(r[3].as<std::string>());
  if (!kind) throw std::runtime_error("decision " + d.id + ": unknown kind " + r[3].as<std::string>());
  d.decision = *kind;
  d.reasons = ReasonsFromJson(r[4].as<std::string>());
  d.evidence = r[5].as<std::string>();
  d.thresholds_version = r[6].as<std::int64_t>();
  d.mode = ParseMode(r[7].as<std::string>()).value_or(Mode::kNormal);
  d.at = TimeFromMicros(r[8]);
  return d;
}

}  // namespace

std::optional<std::string> DecisionRepository::Insert(pqxx::work& tx, const NewDecision& d) {
  const std::string id = NewUuid();
  const pqxx::result r =
      Exec(tx, decision::IsDryRun(d.decision) ? kInsertDryRun : kInsertReal, id, d.release_id, d.episode,
                     std::string(decision::ToString(d.decision)), ReasonsToJson(d.reasons), d.evidence,
                     d.thresholds_version, std::string(ModeName(d.mode)));
  if (r.empty()) return std::nullopt;
  return id;
}

std::map<std::string, std::vector<DecisionRow>> DecisionRepository::ListForReleases(
    pqxx::transaction_base& tx, const std::vector<std::string>& release_ids) {
  std::map<std::string, std::vector<DecisionRow>> out;
  if (release_ids.empty()) return out;
  for (const auto& r : Exec(tx, kList, TextArrayLiteral(release_ids))) {
    DecisionRow d = FromRow(r);
    out[d.release_id].push_back(std::move(d));
  }
  return out;
}

std::vector<DecisionRow> DecisionRepository::ListForRelease(pqxx::transaction_base& tx,
                                                            const std::string& release_id) {
  auto by_release = ListForReleases(tx, {release_id});
  return std::move(by_release[release_id]);
}

}  // namespace backstop::store
