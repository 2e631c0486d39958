#include "backstop/workflow/decision_commit.hpp"

#include <boost/json.hpp>

#include "backstop/decision/evaluation_json.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/evaluator_lease_repository.hpp"
#include "backstop/store/mode_repository.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/workflow/audit_record.hpp"
#include "backstop/workflow/escalations.hpp"
#include "backstop/workflow/rollback_action.hpp"

namespace backstop::workflow {

namespace {

// The status a decision moves its release to; nullopt for dry-run records.
std::optional<domain::ReleaseStatus> StatusAfter(decision::DecisionKind kind) {
  switch (kind) {
    case decision::DecisionKind::kAutoRollback: return domain::ReleaseStatus::kRollingBack;
    case decision::DecisionKind::kEscalate: return domain::ReleaseStatus::kEscalated;
    case decision::DecisionKind::kHealthy: return domain::ReleaseStatus::kHealthy;
    default: return std::nullopt;
  }
}

}  // namespace

CommittedDecision CommitDecision(pqxx::work& tx, const LeaseFence& fence, const config::Notifiers& notifiers,
                                 const DecisionInput& in) {
  CommittedDecision out;  // kNone: nothing written
  if (!store::EvaluatorLeaseRepository::IsHeld(tx, fence.owner, fence.epoch)) return out;
  auto locked = store::ReleaseRepository::Lock(tx, in.release_id);
  if (!locked || !domain::IsEvaluable(locked->status) ||
      store::EscalationRepository::HasPending(tx, in.release_id)) {
    return out;
  }
  const Mode mode = store::ModeRepository::GetForShare(tx).mode;
  store::ActionRepository::LockBudget(tx, locked->release_class, locked->environment);
  const int used = store::ActionRepository::CountAutoInWindow(tx, locked->release_class, locked->environment,
                                                              in.thresholds.budget_per);
  const decision::DecisionContext context{in.now, mode, used};
  const decision::Decision d = decision::Decide(store::FactsOf(*locked), in.thresholds, in.telemetry, context, in.history);
  if (d.kind == decision::DecisionKind::kNone) return out;
  const std::string evidence = boost::json::serialize(decision::EvaluationToJson(d.evaluation));
  const auto decision_id = store::DecisionRepository::Insert(
      tx, store::NewDecision{in.release_id, locked->episode, d.kind, d.reasons, evidence,
                             locked->thresholds_version, mode});
  if (!decision_id) {
    out.already_decided = true;
    return out;
  }

  out.kind = d.kind;
  out.status = locked->status;
  out.reasons = d.reasons;
  boost::json::object payload{{"decision_id", *decision_id},
                              {"decision", decision::ToString(d.kind)},
                              {"reasons", decision::ReasonCodesToJson(d.reasons)},
                              {"thresholds_version", locked->thresholds_version},
                              {"mode", ModeName(mode)},
                              {"episode", locked->episode}};
  // The release moves first, so the escalation's notification shows it escalated.
  if (const auto to = StatusAfter(d.kind)) {
    store::ReleaseRepository::Transition(tx, in.release_id, {locked->status}, *to);
    out.status = *to;
  }
  if (d.kind == decision::DecisionKind::kAutoRollback) {
    store::NewAction a = RollbackOf(*locked, domain::DecidedBy::kAuto, d.reasons, in.executor);
    a.decision_id = decision_id;
    payload["action_id"] = store::ActionRepository::Queue(tx, a).id;
  } else if (d.kind == decision::DecisionKind::kEscalate) {
    payload["escalation_id"] =
        OpenEscalation(tx, notifiers, EscalationForDecision(*locked, *decision_id, d, in.thresholds, evidence)).id;
  }
  Record(tx, "system", audit::DecisionAuditKind(d.kind), in.release_id, payload);
  return out;
}

bool CommitIneffectiveRollback(pqxx::work& tx, const LeaseFence& fence, const config::Notifiers& notifiers,
                               const std::string& release_id, const policy::ThresholdSet& thresholds,
                               const decision::Evaluation& evidence) {
  if (!store::EvaluatorLeaseRepository::IsHeld(tx, fence.owner, fence.epoch)) return false;
  auto locked = store::ReleaseRepository::Lock(tx, release_id);
  if (!locked || locked->status != domain::ReleaseStatus::kRolledBack) return false;
  // Once per release.
  if (store::EscalationRepository::EverAskedWith(tx, release_id, decision::ReasonCode::kRollbackIneffective)) {
    return false;
  }
  OpenEscalation(tx, notifiers, EscalationForIneffectiveRollback(
                         *locked, boost::json::serialize(decision::EvaluationToJson(evidence)), thresholds));
  return true;
}

}  // namespace backstop::workflow
