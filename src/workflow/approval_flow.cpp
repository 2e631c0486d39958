#include "backstop/workflow/approval_flow.hpp"

#include <stdexcept>

#include <boost/json.hpp>

#include "backstop/config/executor_match.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/workflow/audit_record.hpp"
#include "backstop/workflow/escalations.hpp"
#include "backstop/workflow/notifications.hpp"
#include "backstop/workflow/rollback_action.hpp"

namespace backstop::workflow {

namespace {

using domain::ReleaseStatus;

constexpr const char* kExpiredCode = "expired";  // approvals::CheckDecision's refusal past expiry

approvals::ApprovalFacts GatherFacts(pqxx::work& tx, const store::EscalationRow& esc, const store::Release& release,
                                     const std::string& actor) {
  approvals::ApprovalFacts facts;
  facts.escalation_state = esc.state;
  facts.expired_now = store::EscalationRepository::IsPastExpiry(tx, esc.id);
  facts.actor = actor;
  facts.deployed_by = release.deployed_by;
  facts.triggered_by = release.triggered_by;
  for (const auto& a : esc.approvals) facts.approvers.push_back(a.by);
  facts.release_is_current =
      store::ReleaseRepository::NewestIdFor(tx, release.service, release.environment) == release.id;
  facts.proposes_rollback = esc.proposed_type == decision::ProposedActionType::kRollback;
  facts.proposed_from_version = esc.from_version;
  facts.proposed_to_version = esc.to_version;
  facts.release_version = release.version;
  facts.release_previous_version = release.previous_version;
  return facts;
}

void Reject(pqxx::work& tx, const config::Config& config, const ApprovalRequest& req, const store::Release& release) {
  store::EscalationRepository::MarkRejected(tx, req.escalation_id, req.actor, req.comment);
  // Kept: the release runs on and is not rolled back in this episode. (A
  // rolled-back release whose verification escalated stays rolled_back.)
  store::ReleaseRepository::Transition(tx, release.id, {ReleaseStatus::kEscalated, ReleaseStatus::kRollbackFailed},
                                       ReleaseStatus::kRollbackRejected);
  Record(tx, req.actor, audit::AuditKind::kEscalationRejected, release.id,
         {{"escalation_id", req.escalation_id}, {"comment", OptionalText(req.comment)}});
  Notify(tx, config.notifiers, domain::NotificationEvent::kEscalationRejected,
         {release.id, req.escalation_id, std::nullopt});
}

// Returns true once enough approvals are in.
bool Approve(pqxx::work& tx, const config::Config& config, const ApprovalRequest& req, const store::EscalationRow& esc, const store::Release& release,
             std::vector<std::string> approvers) {
  store::EscalationRepository::AddApproval(tx, req.escalation_id, req.actor, req.comment);
  approvers.push_back(req.actor);
  const int have = static_cast<int>(approvers.size());
  Record(tx, req.actor, audit::AuditKind::kEscalationApprovalRecorded, release.id,
         {{"escalation_id", req.escalation_id},
          {"approvals", have},
          {"required_approvals", esc.required_approvals},
          {"comment", OptionalText(req.comment)}});
  if (have < esc.required_approvals) return false;

  store::EscalationRepository::MarkApproved(tx, req.escalation_id, approvers);
  boost::json::array approver_list;
  for (const auto& a : approvers) approver_list.emplace_back(a);
  boost::json::object payload{{"escalation_id", req.escalation_id}, {"approvers", approver_list}};
  if (esc.proposed_type == decision::ProposedActionType::kRollback) {
    // The approved intent: exactly the versions the escalation proposed.
    store::NewAction a = RollbackOf(release, domain::DecidedBy::kApproval, esc.reasons,
                                    config::ExecutorName(config, release.service));
    a.decision_id = esc.decision_id;
    a.escalation_id = req.escalation_id;
    a.from_version = esc.from_version;
    a.to_version = esc.to_version;
    a.approvers = approvers;
    payload["action_id"] = store::ActionRepository::Queue(tx, a).id;
    if (!store::ReleaseRepository::Transition(tx, release.id,
                                              {ReleaseStatus::kEscalated, ReleaseStatus::kRollbackFailed},
                                              ReleaseStatus::kRollingBack)) {
      throw std::logic_error("approved rollback of release " + release.id + " in status " +
                             std::string(domain::ToString(release.status)));
    }
  } else {
    // Containment (irreversible classes) has no automatic executor: the
    // approval is the recorded decision; people carry it out.
    payload["containment"] = "recorded; no executor runs containment";
  }
  Record(tx, req.actor, audit::AuditKind::kEscalationApproved, release.id, payload);
  Notify(tx, config.notifiers, domain::NotificationEvent::kEscalationApproved,
         {release.id, req.escalation_id, std::nullopt});
  return true;
}

}  // namespace

Result<ApprovalOutcome> DecideEscalation(pqxx::work& tx, const config::Config& config,
                                         const ApprovalRequest& req) {
  // Lock order: the release row, then the escalation row, then the audit head.
  auto unlocked = store::EscalationRepository::Find(tx, req.escalation_id);
  if (!unlocked) return Error::NotFound("no escalation " + req.escalation_id);
  auto release = store::ReleaseRepository::Lock(tx, unlocked->release_id);
  if (!release) return Error::Internal("escalation without release");
  const store::EscalationRow esc = *store::EscalationRepository::Find(tx, req.escalation_id, /*for_update=*/true);
  const approvals::ApprovalFacts facts = GatherFacts(tx, esc, *release, req.actor);

  if (auto refused = approvals::CheckDecision(facts, req.verdict)) {
    // The tick may not have expired it yet: a pending escalation refused as
    // `expired` is expired now.
    if (esc.state == domain::EscalationState::kPending && refused->code == kExpiredCode) {
      ExpireEscalation(tx, config.notifiers, esc.id, esc.release_id, req.actor);
    }
    return ApprovalOutcome{esc, false, refused};
  }

  ApprovalOutcome out;
  if (req.verdict == approvals::Verdict::kReject) {
    Reject(tx, config, req, *release);
    out.final = true;
  } else {
    out.final = Approve(tx, config, req, esc, *release, facts.approvers);
  }
  out.escalation = *store::EscalationRepository::Find(tx, req.escalation_id);
  return out;
}

}  // namespace backstop::workflow
