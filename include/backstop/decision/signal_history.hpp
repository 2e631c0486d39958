#pragma once

#include <map>
#include <span>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/evaluate.hpp"
#include "backstop/policy/threshold_set.hpp"
#include "backstop/telemetry/sample.hpp"

namespace backstop::decision {

// One (signal, source)'s history advanced by its evaluation at `now`:
// breach_since starts on a breach and is cleared by anything else; the canary
// samples dated after examined_through (and not after `now`) are examined for
// crossings of the absolute bound, each a flip (definition in
// signal_history.cpp); flips older than the window are pruned. Pure.
[[nodiscard]] SignalHistory AdvanceSignalHistory(const SignalHistory& previous, const policy::SignalRule& rule,
                                                 const policy::EvaluationRule& evaluation, SignalState state,
                                                 std::span<const telemetry::Sample> canary, TimePoint now);

// Whether a breach counts: the state is breach and it has held continuously
// for at least `breach_for` (0 counts at once). Pure.
[[nodiscard]] bool BreachCounts(const SignalHistory& history, SignalState state, TimePoint now, Millis breach_for);

// The conflict start times advanced by the conflicts present at `now`: a new
// conflict starts at `now`, a continuing one keeps its start, an absent one is
// forgotten. Pure.
[[nodiscard]] std::map<ReasonCode, TimePoint> AdvanceConflictSince(const std::map<ReasonCode, TimePoint>& previous,
                                                                   const std::vector<ReasonCode>& present,
                                                                   TimePoint now);

}  // namespace backstop::decision
