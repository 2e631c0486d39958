#pragma once

#include <optional>
#include <span>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/policy/threshold_set.hpp"
#include "backstop/telemetry/sample.hpp"

namespace backstop::decision {

// Aggregates the values of `samples` (in any order) as a signal's `aggregate`
// key asks: the arithmetic mean, the largest value, or the value of the sample
// with the latest timestamp (on equal timestamps, the one given last).
// Finite values give a finite aggregate: a mean whose plain sum would
// overflow (values near ±1.8e308) is computed without overflowing.
// nullopt when `samples` is empty. Pure.
[[nodiscard]] std::optional<double> Aggregate(policy::AggregateKind kind,
                                              std::span<const telemetry::Sample> samples);

// The window aggregate at one sample time.
struct AggregatePoint {
  TimePoint at{};
  double value = 0.0;
  int samples = 0;  // samples in (at - window, at]
};

// The window aggregate as a function of sample time: for each distinct time t
// of `samples` with `after` < t <= `until` (no lower limit without `after`),
// ascending, the aggregate of the samples in (t - window, t] — the value
// evaluation would have seen had it run when the sample at t was the newest.
// `samples` may be in any order (among equal times the one given last is the
// `last`). Each point is aggregated from its own samples alone, so its value
// does not depend on what else `samples` holds. Pure.
[[nodiscard]] std::vector<AggregatePoint> AggregatesAtSampleTimes(policy::AggregateKind kind,
                                                                  std::span<const telemetry::Sample> samples,
                                                                  Millis window, std::optional<TimePoint> after,
                                                                  TimePoint until);

// Which one-sided alternative a Mann-Whitney test checks: that sample A is
// stochastically greater than B, or less than B.
enum class Alternative { kGreater, kLess };

struct MannWhitneyResult {
  double u = 0.0;        // U of sample A: pairs (a, b) with a > b, ties counting 1/2
  double z = 0.0;        // standardised U, tie- and continuity-corrected
  double p_value = 1.0;  // one-sided p for `alternative`; 1 when there is no evidence
};

// One-sided Mann-Whitney U test of `a` against `b` by the normal
// approximation, with the tie correction of the variance and a continuity
// correction of 0.5 towards the null (as scipy.stats.mannwhitneyu with
// method="asymptotic", use_continuity=True). With an empty sample, or when
// every value is tied (zero variance), there is no evidence either way and
// p_value is 1. Pure.
[[nodiscard]] MannWhitneyResult MannWhitneyU(std::span<const double> a, std::span<const double> b,
                                             Alternative alternative);

}  // namespace backstop::decision
