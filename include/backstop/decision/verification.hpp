#pragma once

#include <optional>

#include "backstop/decision/evaluate.hpp"

namespace backstop::decision {

// Post-rollback verification. For evaluation.window after a rollback
// succeeded, the restored version (the former baseline) is evaluated on its
// own: its series are the canary, with no baseline (it is the baseline).
// If a critical signal still breaches its absolute bound, held for
// breach_for, the rollback did not help — the cause is elsewhere — and a
// human is asked (`rollback.ineffective`). Thin or missing data never
// counts as ineffective.
struct VerificationResult {
  bool ineffective = false;                 // a critical breach has held for breach_for
  std::optional<TimePoint> breach_since;    // feed back next time
  std::vector<SignalEvaluation> signals;
};

// `restored` is the release with version = the restored version and no
// previous_version. Pure.
[[nodiscard]] VerificationResult VerifyRollback(const ReleaseFacts& restored,
                                                const policy::ThresholdSet& thresholds,
                                                const TelemetrySnapshot& telemetry, TimePoint now,
                                                std::optional<TimePoint> breach_since);

}  // namespace backstop::decision
