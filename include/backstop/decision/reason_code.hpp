#pragma once

#include <optional>
#include <string_view>

namespace backstop::decision {

// Machine-readable reasons attached to decisions and escalations. The wire
// string of each lives in the one table in reason_code.cpp.
enum class ReasonCode {
  kSignalBreach,                     // signal.breach: a critical signal's breach counted (held for breach_for)
  kPolicyApprovalRequired,           // policy.approval_required: class automation is `approval`
  kPolicyDualApprovalRequired,       // policy.dual_approval_required: class automation is `dual_approval`
  kBlastRadiusTrafficExceedsLimit,   // blast_radius.traffic_exceeds_limit: traffic_percent > max_traffic_percent
  kBlastRadiusSharedInfrastructure,  // blast_radius.shared_infrastructure: release flagged shared, class does not allow it
  kBudgetExhausted,                  // budget.exhausted: class auto-rollbacks in the environment within budget.per used up
  kTargetUnknown,                    // target.unknown: no previous_version to roll back to
  kConflictBaselineDegraded,         // conflict.baseline_degraded: canary breaches its absolute bound and the baseline
                                     //   violates it too, or (with `baseline:`) sits within 20% of it while the canary
                                     //   is not worse than it by both ratio and min_delta
  kConflictSourceDisagreement,       // conflict.source_disagreement: one source breaches, another passes, differ > tolerance
  kConflictFlapping,                 // conflict.flapping: the canary aggregate crossed the band 0.9x..1.1x its absolute
                                     //   bound more than flap_limit times within the window
  kTelemetryInsufficient,            // telemetry.insufficient: a critical signal has fewer than min_samples
  kTelemetryStale,                   // telemetry.stale: a critical signal's newest sample is older than max_staleness
  kModeFreeze,                       // mode.freeze: the controller is frozen; nothing runs without a human
  kRollbackFailed,                   // rollback.failed: the rollback action failed after its attempts
  kRollbackIneffective,              // rollback.ineffective: the restored version still breaches
};

std::string_view ToString(ReasonCode code);
// One sentence for a human deciding (the CLI, the web page's twin in JS).
std::string_view Explain(ReasonCode code);
std::optional<ReasonCode> ParseReasonCode(std::string_view text);

}  // namespace backstop::decision
