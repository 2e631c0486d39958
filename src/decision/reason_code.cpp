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

}  // namespace

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
