#include "backstop/decision/conflicts.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace backstop::decision {

namespace {

// Two sources' aggregates differ by more than the tolerance, relative to the
// larger magnitude. Two zeros do not differ.
bool DifferBeyond(double a, double b, double tolerance) {
  const double scale = std::max(std::abs(a), std::abs(b));
  if (scale == 0.0) return false;
  return std::abs(a - b) / scale > tolerance;
}

}  // namespace

// Why these make a verdict untrustworthy:
// - baseline_degraded: the canary breaks its absolute bound while the previous
//   version (with min_samples in the window) breaks the same bound; the cause
//   is likely outside the release (a dependency outage), and rolling back
//   would not help.
// - source_disagreement: one source says breach, another says pass for the
//   same signal, and their canary aggregates differ by more than
//   sources_tolerance; one of the pipelines is probably wrong. Only sources
//   that reached pass/breach take part (an insufficient source has no say).
// - flapping: some source of the signal flipped between breach and pass more
//   than flap_limit times within the window (flips are counted per source, so
//   two sources flipping together do not double the count).
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
      if (s->state == SignalState::kBreach && s->absolute_breach && s->baseline_absolute_breach) {
        found.insert(ReasonCode::kConflictBaselineDegraded);
      }
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
