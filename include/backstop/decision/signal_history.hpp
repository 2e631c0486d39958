#pragma once

#include <map>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/evaluate.hpp"

namespace backstop::decision {

// One (signal, source)'s history advanced by the state seen at `now`:
// breach_since starts on a breach and is cleared by anything else; a change
// between breach and pass (insufficient and stale ignored) is a flip; flips
// older than `window` are pruned. Pure.
[[nodiscard]] SignalHistory AdvanceSignalHistory(const SignalHistory& previous, SignalState state, TimePoint now,
                                                 Millis window);

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
