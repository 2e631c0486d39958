#pragma once

#include <optional>

#include "backstop/policy/threshold_set.hpp"

namespace backstop::decision {

// The arithmetic of a signal's absolute bound (`max` for `bad_when: above`,
// `min` for `below`) and of its baseline comparison, in one place so the
// breach, the conflict and the flip rules read the bound the same way. Pure.

// Whether `value` violates the absolute bound: above max, or below min. A
// missing bound is never violated (validation requires the one that applies).
[[nodiscard]] bool ViolatesBound(const policy::SignalRule& rule, double value);

// Whether `canary` is worse than `base` by the ratio and min_delta of
// `baseline` (above: canary > base × ratio; below: canary < base ÷ ratio; and
// |canary − base| ≥ min_delta). No statistical test.
[[nodiscard]] bool WorseByRatioAndDelta(const policy::SignalRule& rule, const policy::BaselineRule& baseline,
                                        double canary, double base);

// Whether `value` sits within 20% of the absolute bound or past it: above:
// value ≥ 0.8 × max; below: value ≤ 1.2 × min (DESIGN, baseline_degraded).
// False without the bound.
[[nodiscard]] bool NearOrPastBound(const policy::SignalRule& rule, double value);

// The two sides of the hysteresis band around the absolute bound that the
// flip rule tells apart (DESIGN, conflict.flapping). For `above`: kClear is
// below 0.9 × max, kPast above 1.1 × max; for `below`: kClear is above
// 1.1 × min, kPast below 0.9 × min.
enum class BoundSide { kClear, kPast };

// Which side of the band `value` is on; nullopt inside the band (edges
// included) or without the bound.
[[nodiscard]] std::optional<BoundSide> SideOfBand(const policy::SignalRule& rule, double value);

}  // namespace backstop::decision
