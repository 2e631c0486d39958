#include "backstop/decision/reason_code.hpp"

#include <array>
#include <utility>

namespace backstop::decision {

namespace {

// The one table of reason wire strings. Each code is documented beside its
// enumerator in reason_code.hpp; the strings are part of the external contract
// (decisions, escalations, webhook bodies) and never change once shipped.
constexpr std::array<std::pair<ReasonCode, std::string_view>, 15> kReasonCodes{{
    {ReasonCode::kSignalBreach, "signal.breach"},
    {ReasonCode::kPolicyApprovalRequired, "policy.approval_required"},
    {ReasonCode::kPolicyDualApprovalRequired, "policy.dual_approval_required"},
    {ReasonCode::kBlastRadiusTrafficExceedsLimit, "blast_radius.traffic_exceeds_limit"},
    {ReasonCode::kBlastRadiusSharedInfrastructure, "blast_radius.shared_infrastructure"},
    {ReasonCode::kBudgetExhausted, "budget.exhausted"},
    {ReasonCode::kTargetUnknown, "target.unknown"},
    {ReasonCode::kConflictBaselineDegraded, "conflict.baseline_degraded"},
    {ReasonCode::kConflictSourceDisagreement, "conflict.source_disagreement"},
    {ReasonCode::kConflictFlapping, "conflict.flapping"},
    {ReasonCode::kTelemetryInsufficient, "telemetry.insufficient"},
    {ReasonCode::kTelemetryStale, "telemetry.stale"},
    {ReasonCode::kModeFreeze, "mode.freeze"},
    {ReasonCode::kRollbackFailed, "rollback.failed"},
    {ReasonCode::kRollbackIneffective, "rollback.ineffective"},
}};

constexpr std::array<std::pair<ReasonCode, std::string_view>, 15> kExplanations{{
    {ReasonCode::kSignalBreach, "a critical signal breached its bound or its baseline for long enough to count"},
    {ReasonCode::kPolicyApprovalRequired, "this release class needs a human to approve any rollback"},
    {ReasonCode::kPolicyDualApprovalRequired, "this release class needs two different approvers"},
    {ReasonCode::kBlastRadiusTrafficExceedsLimit, "the release serves more traffic than automatic rollback may touch"},
    {ReasonCode::kBlastRadiusSharedInfrastructure, "the release touches shared infrastructure"},
    {ReasonCode::kBudgetExhausted, "this class already used its automatic rollbacks in this environment"},
    {ReasonCode::kTargetUnknown, "there is no known previous version to roll back to"},
    {ReasonCode::kConflictBaselineDegraded, "the baseline is degraded too: the cause is likely outside the release"},
    {ReasonCode::kConflictSourceDisagreement, "two telemetry sources disagree about this signal"},
    {ReasonCode::kConflictFlapping, "the signal keeps crossing its bound back and forth"},
    {ReasonCode::kTelemetryInsufficient, "too few samples to judge a critical signal"},
    {ReasonCode::kTelemetryStale, "a critical signal's telemetry stopped arriving"},
    {ReasonCode::kModeFreeze, "the controller is frozen: nothing runs without a human"},
    {ReasonCode::kRollbackFailed, "the rollback was attempted and failed"},
    {ReasonCode::kRollbackIneffective, "the rollback ran but the restored version still breaches"},
}};

}  // namespace

std::string_view Explain(ReasonCode code) {
  for (const auto& [c, text] : kExplanations) {
    if (c == code) return text;
  }
  return "unknown reason";
}

std::string_view ToString(ReasonCode code) {
  for (const auto& [c, text] : kReasonCodes) {
    if (c == code) return text;
  }
  return "unknown";
}

std::optional<ReasonCode> ParseReasonCode(std::string_view text) {
  for (const auto& [c, t] : kReasonCodes) {
    if (t == text) return c;
  }
  return std::nullopt;
}

}  // namespace backstop::decision
