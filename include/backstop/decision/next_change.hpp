#pragma once

#include "backstop/decision/decide.hpp"

namespace backstop::decision {

// The earliest time after `now` at which Decide, given the same release,
// thresholds, telemetry snapshot, mode and the history `decided` carries,
// could answer differently (TimePoint::max() when nothing is due). Time
// alone changes an answer only when:
// - a sample enters its window (a sample dated after `now` reaches it) or
//   leaves it (`window` after its time);
// - the newest canary sample of a series turns stale (strictly older than
//   max_staleness);
// - a breach or a conflict has held for breach_for;
// - evaluation.duration has passed since the release started;
// - a counted flip leaves the window (with the sample it was read at).
// The evaluator skips a release's evaluation until then when its telemetry,
// release row and mode are unchanged (tests/unit/decision/next_change_test
// checks the answers against deciding at every step). Pure.
[[nodiscard]] TimePoint NextChangeAt(const ReleaseFacts& release, const policy::ThresholdSet& thresholds,
                                     const TelemetrySnapshot& telemetry, const Decision& decided, TimePoint now);

}  // namespace backstop::decision
