#include "backstop/workflow/release_registration.hpp"

#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "backstop/store/escalation_repository.hpp"
#include "backstop/workflow/audit_record.hpp"
#include "backstop/workflow/notifications.hpp"

namespace backstop::workflow {

Result<store::RegisterOutcome> RegisterRelease(pqxx::work& tx, const config::Notifiers& notifiers,
                                               const store::NewRelease& given, const std::string& deployed_by) {
  // Registrations of one service/environment serialize on its lock, which
  // Insert's INSERT takes (one round trip fewer on the common path: a
  // client id and a previous version). Inferring the previous version, or
  // matching a retry without an id, reads first, so the lock comes first
  // then: what is read is what a concurrent registration would read too. A
  // replay (the id exists) keeps what it stored: inference only shapes a new
  // release.
  store::NewRelease r = given;
  r.previous_version_inferred = false;
  if (!r.previous_version || !r.id_from_client) {
    store::ReleaseRepository::LockServiceEnvironment(tx, r.service, r.environment);
  }
  if (!r.previous_version && !store::ReleaseRepository::Find(tx, r.id)) {
    r.previous_version =
        store::ReleaseRepository::NewestHealthyVersion(tx, r.service, r.environment, r.version);
    r.previous_version_inferred = r.previous_version.has_value();
  }
  auto inserted = store::ReleaseRepository::Insert(tx, r, deployed_by);
  if (!inserted || !inserted->created) return inserted;
  store::RegisterOutcome out = std::move(inserted).value();
  std::vector<std::pair<std::string, std::vector<std::string>>> superseded;
  for (const auto& old_id : store::ReleaseRepository::SupersedeInProgress(tx, r.service, r.environment, r.id)) {
    out.superseded.push_back(old_id);
    superseded.emplace_back(old_id, store::EscalationRepository::SupersedePending(tx, old_id));
  }
  for (const auto& [old_id, escalations] : superseded) {
    Record(tx, deployed_by, audit::AuditKind::kReleaseSuperseded, old_id, {{"superseded_by", r.id}});
    for (const auto& esc : escalations) {
      Record(tx, deployed_by, audit::AuditKind::kEscalationSuperseded, old_id,
             {{"escalation_id", esc}, {"superseded_by", r.id}});
      Notify(tx, notifiers, domain::NotificationEvent::kEscalationSuperseded, {old_id, esc, std::nullopt});
    }
  }
  Record(tx, deployed_by, audit::AuditKind::kReleaseRegistered, r.id,
         {{"service", r.service},
          {"environment", r.environment},
          {"version", r.version},
          {"previous_version", OptionalText(r.previous_version)},
          {"previous_version_inferred", r.previous_version_inferred},
          {"release_class", r.release_class},
          {"thresholds_version", out.release.thresholds_version},
          {"traffic_percent", r.traffic_percent},
          {"shared_infrastructure", r.shared_infrastructure},
          {"triggered_by", OptionalText(r.triggered_by)}});
  return out;
}

Result<store::Release> ChangeTraffic(pqxx::work& tx, const std::string& release_id, double traffic_percent,
                                     const std::string& actor) {
  auto release = store::ReleaseRepository::SetTraffic(tx, release_id, traffic_percent);
  if (!release) return release;
  Record(tx, actor, audit::AuditKind::kReleaseTrafficChanged, release_id, {{"traffic_percent", traffic_percent}});
  return release;
}

}  // namespace backstop::workflow
