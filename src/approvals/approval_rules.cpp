#include "backstop/approvals/approval_rules.hpp"

#include <algorithm>

namespace backstop::approvals {

std::optional<Error> CheckDecision(const ApprovalFacts& f, Verdict verdict) {
  // DESIGN: approving twice is 409 already_approved, whatever happened since.
  if (verdict == Verdict::kApprove &&
      std::find(f.approvers.begin(), f.approvers.end(), f.actor) != f.approvers.end()) {
    return Error::Conflict("already_approved", f.actor + " already approved this escalation");
  }
  if (f.escalation_state != domain::EscalationState::kPending) {
    const std::string state(domain::ToString(f.escalation_state));
    return Error::Conflict(state, "the escalation is " + state);
  }
  if (f.expired_now) return Error::Conflict("expired", "the escalation expired unanswered");
  // Separation of duties binds rejections too: keeping one's own degraded
  // release is the same conflict of interest as approving its rollback.
  if (f.actor == f.deployed_by || (f.triggered_by && f.actor == *f.triggered_by)) {
    return Error::Forbidden("separation_of_duties",
                            f.actor + " deployed or triggered this release and may not decide on it");
  }
  const bool target_moved = f.proposes_rollback && f.release_previous_version != f.proposed_to_version;
  if (!f.release_is_current || f.release_version != f.proposed_from_version || target_moved) {
    return Error::Conflict("intent_changed",
                           "the release or its rollback target changed since the escalation was opened");
  }
  if (verdict == Verdict::kApprove && f.proposes_rollback && !f.proposed_to_version) {
    return Error::Conflict("target_unknown", "there is no previous version to roll back to");
  }
  return std::nullopt;
}

}  // namespace backstop::approvals
