#pragma once

#include <vector>

#include "backstop/decision/evaluate.hpp"
#include "backstop/policy/threshold_set.hpp"

namespace backstop::decision {

// The conflict.* codes present now, sorted in ReasonCode order without
// duplicates, from the evaluations of this run and the (already advanced)
// history that holds the flips. Only critical signals' conflicts are
// reported: non-critical signals are evidence only and never escalate. Pure.
[[nodiscard]] std::vector<ReasonCode> DetectConflicts(const std::vector<SignalEvaluation>& signals,
                                                      const policy::ThresholdSet& thresholds,
                                                      const EvaluationHistory& history);

}  // namespace backstop::decision
