#include "backstop/decision/conflicts.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "backstop/decision/bounds.hpp"

namespace backstop::decision {

namespace {

// Two sources' aggregates differ by more than the tolerance, relative to the
// larger magnitude. Two zeros do not differ.
bool DifferBeyond(double a, double b, double tolerance) {
  const double scale = std::max(std::abs(a), std::abs(b));
  if (scale == 0.0) return false;
  return std::abs(a - b) / scale > tolerance;
}

// Whether the environment, not the release, explains the canary's breach
// (conflict.baseline_degraded). Two shapes:
// - the baseline violates the same absolute bound: both cohorts are over it,
//   the cause is likely outside the release (a dependency outage), and
//   rolling back would not help. No `baseline:` rule is needed for this one.
// - for a signal with `baseline:`, the canary breaches only its absolute bound
//   (not the comparison), the baseline sits within 20% of that bound
//   (`above`: >= 0.8 x max, `below`: <= 1.2 x min), and the canary is not
//   worse than the baseline by both ratio and min_delta: the environment is
//   pushing both cohorts against the bound and the release merely tipped over
//   it. Only ratio and min_delta are asked, not the statistical test: the test
//   guards against spikes, and a canary worse by both is a real regression
//   that must still roll back, significant or not.
// Either way the baseline must be trusted (min_samples in the window). With
// fewer samples DESIGN skips the baseline comparison and lets the absolute
// bound alone decide; a thin baseline is no evidence that the environment is
// to blame either, so it never turns an absolute breach into a conflict.
bool BaselineExplainsBreach(const policy::SignalRule& rule, const SignalEvaluation& s) {
  if (s.state != SignalState::kBreach || !s.absolute_breach || !s.baseline_trusted || !s.canary || !s.baseline) {
    return false;
  }
  if (s.baseline_absolute_breach) return true;
  return rule.baseline.has_value() && !s.baseline_breach && NearOrPastBound(rule, s.baseline->value) &&
         !WorseByRatioAndDelta(rule, *rule.baseline, s.canary->value, s.baseline->value);
}

}  // namespace

// Why these make a verdict untrustworthy:
// - baseline_degraded: the previous version is at or near the same bound
//   (BaselineExplainsBreach above); rolling back would not help.
// - source_disagreement: one source says breach, another says pass for the
//   same signal, and their canary aggregates differ by more than
//   sources_tolerance; one of the pipelines is probably wrong. Only sources
//   that reached pass/breach take part (an insufficient source has no say).
// - flapping: the canary aggregate of some source of the signal crossed the
//   hysteresis band around its absolute bound more than flap_limit times
//   within the window (see signal_history.cpp). Flips are counted per source,
//   so two sources flipping together do not double the count.
std::vector<ReasonCode> DetectConflicts(const std::vector<SignalEvaluation>& signals,
                                        const policy::ThresholdSet& thresholds, const EvaluationHistory& history) {
  std::set<ReasonCode> found;
  for (const policy::SignalRule& rule : thresholds.signals) {
    if (!rule.critical) continue;
    std::vector<const SignalEvaluation*> sources;
    for (const SignalEvaluation& s : signals) {
      if (s.name == rule.name) sources.push_back(&s);
    }

    for (const SignalEvaluation* s : sources) {
      if (BaselineExplainsBreach(rule, *s)) found.insert(ReasonCode::kConflictBaselineDegraded);
      const auto it = history.signals.find({s->name, s->source});
      if (it != history.signals.end() && static_cast<int>(it->second.flips.size()) > thresholds.evaluation.flap_limit) {
        found.insert(ReasonCode::kConflictFlapping);
      }
    }

    for (const SignalEvaluation* breach : sources) {
      if (breach->state != SignalState::kBreach || !breach->canary) continue;
      for (const SignalEvaluation* pass : sources) {
        if (pass->state != SignalState::kPass || !pass->canary) continue;
        if (DifferBeyond(breach->canary->value, pass->canary->value, rule.sources_tolerance)) {
          found.insert(ReasonCode::kConflictSourceDisagreement);
        }
      }
    }
  }
  return {found.begin(), found.end()};
}

}  // namespace backstop::decision
