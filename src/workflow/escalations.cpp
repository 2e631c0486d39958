#include "backstop/workflow/escalations.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "backstop/common/time_format.hpp"
#include "backstop/decision/evaluation_json.hpp"
#include "backstop/decision/summary.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/workflow/audit_record.hpp"
#include "backstop/workflow/notifications.hpp"

namespace backstop::workflow {

namespace {

constexpr const char* kSystem = "system";

store::NewEscalation About(const store::Release& release) {
  store::NewEscalation e;
  e.release_id = release.id;
  e.service = release.service;
  e.environment = release.environment;
  e.release_class = release.release_class;
  e.from_version = release.version;
  return e;
}

bool Carries(const store::EscalationRow& e, decision::ReasonCode reason) {
  return std::find(e.reasons.begin(), e.reasons.end(), reason) != e.reasons.end();
}

// pending and due → expired, and a fresh episode: if the release is still
// degraded, the next evaluation asks again rather than letting an
// unanswered question stand. The caller holds the release row lock.
bool MarkExpiredAndRestart(pqxx::work& tx, const std::string& escalation_id, const std::string& release_id) {
  if (!store::EscalationRepository::MarkExpired(tx, escalation_id)) return false;
  store::ReleaseRepository::StartNewEpisode(tx, release_id);
  return true;
}

// Nothing re-evaluates a release whose rollback failed, so its unanswered
// `rollback.failed` question is asked again here, whichever path expired it.
void AskAgainIfRollbackFailed(pqxx::work& tx, const config::Notifiers& notifiers, const store::EscalationRow& expired,
                              domain::ReleaseStatus release_status) {
  if (release_status == domain::ReleaseStatus::kRollbackFailed &&
      Carries(expired, decision::ReasonCode::kRollbackFailed)) {
    OpenEscalation(tx, notifiers, EscalationAskedAgain(expired));
  }
}

}  // namespace

store::NewEscalation EscalationForDecision(const store::Release& release, const std::string& decision_id,
                                           const decision::Decision& d, const policy::ThresholdSet& set,
                                           const std::string& evidence) {
  store::NewEscalation e = About(release);
  e.decision_id = decision_id;
  const bool rollback = d.proposed == decision::ProposedActionType::kRollback && release.previous_version;
  e.proposed_type = rollback ? decision::ProposedActionType::kRollback : decision::ProposedActionType::kContain;
  if (rollback) e.to_version = release.previous_version;
  e.reasons = d.reasons;
  e.evidence = evidence;
  e.summary = decision::SummarizeEscalation(store::FactsOf(release), d);
  e.required_approvals = set.RequiredApprovals();
  e.ttl = set.approval_ttl;
  return e;
}

store::NewEscalation EscalationForFailedRollback(const store::Release& release, const store::ClaimedAction& action,
                                                 const std::string& error, const policy::ThresholdSet* set) {
  const auto& r = action.request;
  store::NewEscalation e = About(release);
  e.proposed_type = action.action_type;
  e.from_version = r.from_version;
  e.to_version = r.to_version;
  e.reasons = {decision::ReasonCode::kRollbackFailed};
  e.evidence = boost::json::serialize(
      boost::json::object{{"action_id", r.action_id}, {"attempts", r.attempt}, {"last_error", error}});
  e.summary = release.service + " " + release.version + " in " + release.environment + ": the rollback to " +
              r.to_version.value_or("?") + " failed after " + std::to_string(r.attempt) + " attempt(s): " + error;
  e.required_approvals = set != nullptr ? set->RequiredApprovals() : 1;
  e.ttl = set != nullptr ? set->approval_ttl : kDefaultApprovalTtl;
  return e;
}

store::NewEscalation EscalationForIneffectiveRollback(const store::Release& release, const std::string& evidence,
                                                      const policy::ThresholdSet& set) {
  store::NewEscalation e = About(release);
  e.proposed_type = decision::ProposedActionType::kContain;  // nothing left to roll back to: a human investigates
  e.reasons = {decision::ReasonCode::kRollbackIneffective};
  e.evidence = evidence;
  e.summary = release.service + " " + release.previous_version.value_or("?") + " in " + release.environment +
              ": still degraded after the rollback from " + release.version + " — the cause is elsewhere";
  e.required_approvals = set.RequiredApprovals();
  e.ttl = set.approval_ttl;
  return e;
}

store::NewEscalation EscalationAskedAgain(const store::EscalationRow& old) {
  store::NewEscalation e;
  e.release_id = old.release_id;
  e.decision_id = old.decision_id;
  e.service = old.service;
  e.environment = old.environment;
  e.release_class = old.release_class;
  e.proposed_type = old.proposed_type;
  e.from_version = old.from_version;
  e.to_version = old.to_version;
  e.reasons = old.reasons;
  e.evidence = old.evidence;
  e.summary = old.summary;
  e.required_approvals = old.required_approvals;
  e.ttl = std::chrono::duration_cast<Millis>(old.expires_at - old.created_at);
  e.replaces = old.id;
  return e;
}

store::EscalationRow OpenEscalation(pqxx::work& tx, const config::Notifiers& notifiers,
                                    const store::NewEscalation& e) {
  store::EscalationRow row = store::EscalationRepository::Insert(tx, e);
  boost::json::object payload{{"escalation_id", row.id},
                              {"reasons", decision::ReasonCodesToJson(row.reasons)},
                              {"required_approvals", row.required_approvals},
                              {"expires_at", FormatRfc3339(row.expires_at)}};
  if (e.replaces) payload["replaces"] = *e.replaces;
  Record(tx, kSystem, audit::AuditKind::kEscalationOpened, row.release_id, payload);
  Notify(tx, notifiers, domain::NotificationEvent::kEscalationOpened, {row.release_id, row.id, std::nullopt});
  return row;
}

bool ExpireEscalation(pqxx::work& tx, const config::Notifiers& notifiers, const std::string& escalation_id,
                      const std::string& release_id, const std::string& actor) {
  if (!MarkExpiredAndRestart(tx, escalation_id, release_id)) return false;
  Record(tx, actor, audit::AuditKind::kEscalationExpired, release_id, {{"escalation_id", escalation_id}});
  Notify(tx, notifiers, domain::NotificationEvent::kEscalationExpired, {release_id, escalation_id, std::nullopt});
  if (const auto release = store::ReleaseRepository::Find(tx, release_id)) {
    AskAgainIfRollbackFailed(tx, notifiers, *store::EscalationRepository::Find(tx, escalation_id), release->status);
  }
  return true;
}

std::vector<store::EscalationRow> ExpireDueEscalations(pqxx::work& tx, const config::Notifiers& notifiers) {
  // Every release row is locked before the first audit append takes the
  // chain head: the lock order all writers follow, so they never deadlock.
  std::vector<std::pair<std::string, domain::ReleaseStatus>> expired;  // escalation id, release status
  for (const auto& [id, release_id] : store::EscalationRepository::ListDue(tx)) {
    auto release = store::ReleaseRepository::Lock(tx, release_id);
    if (release && MarkExpiredAndRestart(tx, id, release_id)) expired.emplace_back(id, release->status);
  }
  std::vector<store::EscalationRow> out;
  for (const auto& [id, status] : expired) {
    store::EscalationRow row = *store::EscalationRepository::Find(tx, id);
    Record(tx, kSystem, audit::AuditKind::kEscalationExpired, row.release_id, {{"escalation_id", id}});
    Notify(tx, notifiers, domain::NotificationEvent::kEscalationExpired, {row.release_id, id, std::nullopt});
    out.push_back(std::move(row));
  }
  for (std::size_t i = 0; i < out.size(); ++i) AskAgainIfRollbackFailed(tx, notifiers, out[i], expired[i].second);
  return out;
}

}  // namespace backstop::workflow
