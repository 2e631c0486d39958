#pragma once

#include <optional>
#include <span>

#include "backstop/policy/threshold_set.hpp"
#include "backstop/telemetry/sample.hpp"

namespace backstop::decision {

// Aggregates the values of `samples` (in any order) as a signal's `aggregate`
// key asks: the arithmetic mean, the largest value, or the value of the sample
// with the latest timestamp (on equal timestamps, the one given last).
// nullopt when `samples` is empty. Pure.
[[nodiscard]] std::optional<double> Aggregate(policy::AggregateKind kind,
                                              std::span<const telemetry::Sample> samples);

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
