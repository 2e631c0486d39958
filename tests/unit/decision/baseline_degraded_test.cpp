#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "backstop/decision/decide.hpp"
#include "decision_test_support.hpp"

// conflict.baseline_degraded (DESIGN "Evaluation, conflicts and the
// decision"): the canary breaches its absolute bound and either the baseline
// violates the same bound, or — for a signal with `baseline:` — the baseline
// sits within 20% of the bound and the canary is not worse than it by both
// ratio and min_delta. Every case goes through Decide, so the row states what
// the release gets: an escalation with the conflict, or its own rollback.

namespace backstop::decision {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): test fixtures only

using Reasons = std::vector<ReasonCode>;

const Reasons kRollsBack{ReasonCode::kSignalBreach};
const Reasons kBaselineDegraded{ReasonCode::kSignalBreach, ReasonCode::kConflictBaselineDegraded};

std::optional<policy::BaselineRule> Compare(double ratio, double min_delta,
                                            policy::StatTest test = policy::StatTest::kNone) {
  return policy::BaselineRule{ratio, min_delta, test, 0.95};
}

// http_5xx_ratio with `max` (above) or `min` (below) and an optional baseline rule.
policy::SignalRule Above(double max, std::optional<policy::BaselineRule> baseline) {
  policy::SignalRule rule = ErrorRatioRule();
  rule.max = max;
  rule.baseline = baseline;
  return rule;
}

policy::SignalRule Below(double min, std::optional<policy::BaselineRule> baseline) {
  policy::SignalRule rule = ErrorRatioRule();
  rule.bad_when = policy::BadWhen::kBelow;
  rule.max.reset();
  rule.min = min;
  rule.baseline = baseline;
  return rule;
}

struct BaselineCase {
  std::string name;
  policy::SignalRule rule;
  std::vector<telemetry::Sample> canary;
  std::vector<telemetry::Sample> baseline;
  Reasons expected;  // empty: nothing decided
};

void PrintTo(const BaselineCase& c, std::ostream* os) { *os << c.name; }

class BaselineDegradedTest : public ::testing::TestWithParam<BaselineCase> {};

TEST_P(BaselineDegradedTest, EscalatesOnlyWhenTheBaselineExplainsTheBreach) {
  const BaselineCase& c = GetParam();
  policy::ThresholdSet thresholds = Thresholds();  // min_samples 5, breach_for 0s, automation auto
  thresholds.signals = {c.rule};
  const TelemetrySnapshot snapshot{{Series(kSignal, "default", c.canary, c.baseline)}};

  const Decision d = Decide(Release(), thresholds, snapshot, Context(), {});
  EXPECT_EQ(d.reasons, c.expected);
  if (c.expected.empty()) {
    EXPECT_EQ(d.kind, DecisionKind::kNone);
  } else if (c.expected == kRollsBack) {
    EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
    EXPECT_TRUE(d.evaluation.conflicts.empty());
  } else {
    EXPECT_EQ(d.kind, DecisionKind::kEscalate);
    EXPECT_EQ(d.evaluation.conflicts, (Reasons{ReasonCode::kConflictBaselineDegraded}));
    EXPECT_EQ(d.evaluation.verdict, Verdict::kConflict);
  }
}

// A canary of 19 samples at 0.044 and one spike at 0.244: mean 0.054, yet
// mostly *below* a baseline at 0.045, so the Mann-Whitney test finds nothing.
std::vector<telemetry::Sample> SpikyCanary() {
  return Join(Samples(19, 0.044), {{Now() - Millis(500), 0.244}});
}

INSTANTIATE_TEST_SUITE_P(
    Rules, BaselineDegradedTest,
    ::testing::Values(
        // The two shapes of the issue: the bound touched by both cohorts.
        BaselineCase{"ErrorRatioAtTheBoundWithTheBaselineJustUnder", Above(0.05, Compare(2.0, 0.01)),
                     Samples(20, 0.054), Samples(20, 0.045), kBaselineDegraded},
        BaselineCase{"LatencyAtTheBoundWithTheBaselineJustUnder", Above(800, Compare(1.5, 100)),
                     Samples(20, 896), Samples(20, 756), kBaselineDegraded},
        // The 20% edge (0.8 x 0.05 = 0.04; 0.8 x 500 = 400 exactly in binary).
        BaselineCase{"BaselineAtExactlyEightyPercentOfTheBoundIsNear", Above(0.05, Compare(2.0, 0.01)),
                     Samples(20, 0.054), Samples(20, 0.04), kBaselineDegraded},
        BaselineCase{"BaselineAtExactlyEightyPercentOfAnExactBoundIsNear", Above(500, Compare(2.0, 10)),
                     Samples(20, 520), Samples(20, 400), kBaselineDegraded},
        BaselineCase{"BaselineJustUnderEightyPercentOfTheBoundIsNotNear", Above(0.05, Compare(2.0, 0.01)),
                     Samples(20, 0.054), Samples(20, 0.0399), kRollsBack},
        BaselineCase{"BaselineJustUnderEightyPercentOfAnExactBoundIsNotNear", Above(500, Compare(2.0, 10)),
                     Samples(20, 520), Samples(20, 399.9), kRollsBack},
        // "Not worse by both ratio and min_delta": one of the two is not enough.
        BaselineCase{"CanaryWorseByTheRatioButNotByMinDeltaIsAConflict", Above(0.05, Compare(1.1, 0.02)),
                     Samples(20, 0.054), Samples(20, 0.045), kBaselineDegraded},
        BaselineCase{"CanaryWorseByMinDeltaButNotByTheRatioIsAConflict", Above(0.05, Compare(2.0, 0.005)),
                     Samples(20, 0.054), Samples(20, 0.045), kBaselineDegraded},
        // A real regression near its bound still rolls back.
        BaselineCase{"CanaryWorseByBothRollsBack", Above(0.05, Compare(1.1, 0.005)), Samples(20, 0.054),
                     Samples(20, 0.045), kRollsBack},
        BaselineCase{"CanaryWorseByBothButNotSignificantlyStillRollsBack",
                     Above(0.05, Compare(1.1, 0.005, policy::StatTest::kMannWhitney)), SpikyCanary(),
                     Samples(20, 0.045), kRollsBack},
        // `below` signals, mirrored (1.2 x 0.5 = 0.6).
        BaselineCase{"BelowBaselineAtExactlyTwentyPercentOverTheBoundIsNear", Below(0.5, Compare(1.5, 0.05)),
                     Samples(20, 0.45), Samples(20, 0.6), kBaselineDegraded},
        BaselineCase{"BelowBaselineJustOverTwentyPercentOverTheBoundIsNotNear", Below(0.5, Compare(1.5, 0.05)),
                     Samples(20, 0.45), Samples(20, 0.601), kRollsBack},
        BaselineCase{"BelowCanaryWorseByTheRatioButNotByMinDeltaIsAConflict", Below(0.5, Compare(1.1, 0.2)),
                     Samples(20, 0.45), Samples(20, 0.55), kBaselineDegraded},
        BaselineCase{"BelowCanaryWorseByBothRollsBack", Below(0.5, Compare(1.1, 0.05)), Samples(20, 0.45),
                     Samples(20, 0.55), kRollsBack},
        BaselineCase{"BelowBaselineUnderTheBoundIsAConflict", Below(0.5, std::nullopt), Samples(20, 0.45),
                     Samples(20, 0.48), kBaselineDegraded},
        // A signal without `baseline:` keeps only the first rule.
        BaselineCase{"WithoutABaselineRuleABaselineNearTheBoundChangesNothing", Above(0.05, std::nullopt),
                     Samples(20, 0.054), Samples(20, 0.045), kRollsBack},
        BaselineCase{"WithoutABaselineRuleABaselineOverTheBoundIsStillAConflict", Above(0.05, std::nullopt),
                     Samples(20, 0.07), Samples(20, 0.06), kBaselineDegraded},
        BaselineCase{"BaselineOverTheBoundIsAConflictEvenWhenTheCanaryIsWorseByBoth",
                     Above(0.05, Compare(1.1, 0.005)), Samples(20, 0.09), Samples(20, 0.06), kBaselineDegraded},
        // A baseline with fewer than min_samples (5) is no evidence either way.
        BaselineCase{"AThinBaselineNearTheBoundLeavesTheAbsoluteBreach", Above(0.05, Compare(2.0, 0.01)),
                     Samples(20, 0.054), Samples(4, 0.045), kRollsBack},
        BaselineCase{"AThinBaselineOverTheBoundLeavesTheAbsoluteBreach", Above(0.05, Compare(2.0, 0.01)),
                     Samples(20, 0.07), Samples(4, 0.06), kRollsBack},
        // Without a breach of the absolute bound there is nothing to explain.
        BaselineCase{"ACanaryUnderItsBoundIsNoConflict", Above(0.05, Compare(2.0, 0.01)), Samples(20, 0.049),
                     Samples(20, 0.045), Reasons{}}),
    [](const ::testing::TestParamInfo<BaselineCase>& info) { return info.param.name; });

}  // namespace
}  // namespace backstop::decision
