#include "backstop/decision/bounds.hpp"

#include <cmath>

namespace backstop::decision {

namespace {

// The factors of DESIGN, written for a positive bound. They are applied as
// bound ± share × |bound| so a zero or negative bound still gets a band on the
// right side of it (for a positive bound this is exactly 0.8×, 0.9×, 1.1×, 1.2×).
constexpr double kNearShare = 0.2;
constexpr double kBandShare = 0.1;

// Decimal factors are not exact in binary: 0.8 × 0.05 is 0.04000000000000001,
// and a mean of twenty samples of 0.04 is not exactly 0.04 either. Without a
// tolerance a baseline written as exactly 0.8 × the bound would fall outside
// by rounding alone. The edges therefore give way by a relative 1e-9 of the
// bound — far below any meaningful difference in a telemetry value.
constexpr double kRelativeTolerance = 1e-9;

std::optional<double> BoundOf(const policy::SignalRule& rule) {
  return rule.bad_when == policy::BadWhen::kAbove ? rule.max : rule.min;
}

}  // namespace

bool ViolatesBound(const policy::SignalRule& rule, double value) {
  if (rule.bad_when == policy::BadWhen::kAbove) return rule.max.has_value() && value > *rule.max;
  return rule.min.has_value() && value < *rule.min;
}

// Both conditions are needed: with a baseline of 0 any positive canary beats
// the ratio, so min_delta is what keeps tiny absolute changes from breaching.
bool WorseByRatioAndDelta(const policy::SignalRule& rule, const policy::BaselineRule& baseline, double canary,
                          double base) {
  const bool ratio_worse = rule.bad_when == policy::BadWhen::kAbove ? canary > base * baseline.ratio
                                                                    : canary < base / baseline.ratio;
  return ratio_worse && std::abs(canary - base) >= baseline.min_delta;
}

bool NearOrPastBound(const policy::SignalRule& rule, double value) {
  const std::optional<double> bound = BoundOf(rule);
  if (!bound) return false;
  const double scale = std::abs(*bound);
  const double tolerance = kRelativeTolerance * scale;
  if (rule.bad_when == policy::BadWhen::kAbove) return value >= *bound - kNearShare * scale - tolerance;
  return value <= *bound + kNearShare * scale + tolerance;
}

std::optional<BoundSide> SideOfBand(const policy::SignalRule& rule, double value) {
  const std::optional<double> bound = BoundOf(rule);
  if (!bound) return std::nullopt;
  const double scale = std::abs(*bound);
  const double tolerance = kRelativeTolerance * scale;
  const double lower = *bound - kBandShare * scale - tolerance;  // strictly under it: below the band
  const double upper = *bound + kBandShare * scale + tolerance;  // strictly over it: above the band
  const bool above_band = value > upper;
  const bool below_band = value < lower;
  if (!above_band && !below_band) return std::nullopt;
  const bool past = rule.bad_when == policy::BadWhen::kAbove ? above_band : below_band;
  return past ? BoundSide::kPast : BoundSide::kClear;
}

}  // namespace backstop::decision
