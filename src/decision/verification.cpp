#include "backstop/decision/verification.hpp"

namespace backstop::decision {

VerificationResult VerifyRollback(const ReleaseFacts& restored, const policy::ThresholdSet& thresholds,
                                  const TelemetrySnapshot& telemetry, TimePoint now,
                                  std::optional<TimePoint> breach_since) {
  VerificationResult out;
  out.signals = EvaluateSignals(restored, thresholds, telemetry, now);
  bool breach = false;
  for (const auto& s : out.signals) {
    breach = breach || (s.critical && s.state == SignalState::kBreach && s.absolute_breach);
  }
  if (!breach) return out;  // a pass or missing data resets the hold
  out.breach_since = breach_since.value_or(now);
  out.ineffective = now - *out.breach_since >= thresholds.evaluation.breach_for;
  return out;
}

}  // namespace backstop::decision
