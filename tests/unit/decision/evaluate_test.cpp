#include <gtest/gtest.h>

#include <vector>

#include "backstop/decision/evaluate.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): test fixtures only

SignalEvaluation EvaluateOne(const policy::SignalRule& rule, std::vector<telemetry::Sample> canary,
                             std::vector<telemetry::Sample> baseline = {}, bool previous_version_known = true,
                             const policy::ThresholdSet& thresholds = Thresholds()) {
  const SeriesPair series = Series(rule.name, "default", std::move(canary), std::move(baseline));
  return EvaluateSeries(rule, thresholds.evaluation, series, previous_version_known, Now());
}

policy::SignalRule WithBaseline(policy::SignalRule rule, double ratio, double min_delta, policy::StatTest test,
                                double confidence = 0.98) {
  rule.baseline = policy::BaselineRule{ratio, min_delta, test, confidence};
  return rule;
}

// A baseline of 20 quiet samples: ten at 0.009, ten at 0.011 (mean 0.01).
std::vector<telemetry::Sample> QuietBaseline() {
  return Join(Samples(10, 0.009), Samples(10, 0.011, Now() - Millis(500)));
}

// ---- the window -----------------------------------------------------------

TEST(EvaluateTest, ASampleExactlyWindowOldIsOutOfTheWindow) {
  // Five fresh samples plus one exactly 5 minutes old at a breaching value.
  auto canary = Join(Samples(5, 0.01), {{Now() - Minutes(5), 10.0}});
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), canary);
  ASSERT_TRUE(e.canary.has_value());
  EXPECT_EQ(e.canary->samples, 5);
  EXPECT_EQ(e.state, SignalState::kPass);
}

TEST(EvaluateTest, ASampleJustInsideTheWindowCounts) {
  auto canary = Join(Samples(5, 0.01), {{Now() - Minutes(5) + Millis(1), 10.0}});
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), canary);
  EXPECT_EQ(e.canary->samples, 6);
  EXPECT_EQ(e.state, SignalState::kBreach);
}

TEST(EvaluateTest, ASampleDatedAfterNowDoesNotCount) {
  auto canary = Join(Samples(5, 0.01), {{Now() + Seconds(10), 10.0}});
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), canary);
  EXPECT_EQ(e.canary->samples, 5);
  EXPECT_EQ(e.canary->newest_at, Now());
  EXPECT_EQ(e.state, SignalState::kPass);
}

// ---- insufficient and stale -------------------------------------------------

TEST(EvaluateTest, ExactlyMinSamplesIsEnough) {
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), Samples(5, 0.2));
  EXPECT_EQ(e.state, SignalState::kBreach);
}

TEST(EvaluateTest, OneSampleFewerThanMinSamplesIsInsufficient) {
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), Samples(4, 0.2));
  EXPECT_EQ(e.state, SignalState::kInsufficient);
  EXPECT_FALSE(e.absolute_breach);  // an insufficient signal never breaches
  ASSERT_TRUE(e.canary.has_value());
  EXPECT_EQ(e.canary->samples, 4);  // but its aggregate is still evidence
}

TEST(EvaluateTest, ASampleExactlyMaxStalenessOldIsStillFresh) {
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), Samples(5, 0.01, Now() - Seconds(60)));
  EXPECT_EQ(e.state, SignalState::kPass);
}

TEST(EvaluateTest, ANewestSampleOlderThanMaxStalenessIsStale) {
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), Samples(5, 0.01, Now() - Seconds(60) - Millis(1)));
  EXPECT_EQ(e.state, SignalState::kStale);
}

TEST(EvaluateTest, StaleWinsWhateverTheSampleCount) {
  const SignalEvaluation many = EvaluateOne(ErrorRatioRule(), Samples(200, 0.2, Now() - Seconds(61)));
  EXPECT_EQ(many.state, SignalState::kStale);
  EXPECT_FALSE(many.absolute_breach);
  const SignalEvaluation few = EvaluateOne(ErrorRatioRule(), Samples(2, 0.2, Now() - Seconds(61)));
  EXPECT_EQ(few.state, SignalState::kStale);
}

TEST(EvaluateTest, ASeriesThatStoppedReportingBeforeTheWindowIsStale) {
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), Samples(5, 0.01, Now() - Minutes(10)));
  EXPECT_EQ(e.state, SignalState::kStale);
  EXPECT_FALSE(e.canary.has_value());
}

TEST(EvaluateTest, ASignalWithoutAnySeriesIsInsufficientUnderTheDefaultSource) {
  policy::ThresholdSet t = Thresholds();
  t.signals.push_back(LatencyRule());
  const TelemetrySnapshot snapshot{{Series(kSignal, "default", Samples(5, 0.01))}};
  const auto evaluations = EvaluateSignals(Release(), t, snapshot, Now());
  ASSERT_EQ(evaluations.size(), 2u);
  EXPECT_EQ(evaluations[1].name, kLatency);
  EXPECT_EQ(evaluations[1].source, "default");
  EXPECT_EQ(evaluations[1].state, SignalState::kInsufficient);
  EXPECT_FALSE(evaluations[1].canary.has_value());
  EXPECT_FALSE(evaluations[1].baseline.has_value());
}

// ---- absolute bounds --------------------------------------------------------

TEST(EvaluateTest, AboveBreachesOnlyStrictlyOverMax) {
  EXPECT_EQ(EvaluateOne(ErrorRatioRule(), Samples(5, 0.05)).state, SignalState::kPass);
  const SignalEvaluation e = EvaluateOne(ErrorRatioRule(), Samples(5, 0.0501));
  EXPECT_EQ(e.state, SignalState::kBreach);
  EXPECT_TRUE(e.absolute_breach);
  EXPECT_FALSE(e.baseline_breach);
}

TEST(EvaluateTest, BelowBreachesOnlyStrictlyUnderMin) {
  policy::SignalRule rule;
  rule.name = "success_rate";
  rule.bad_when = policy::BadWhen::kBelow;
  rule.min = 0.99;
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 0.99)).state, SignalState::kPass);
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 0.995)).state, SignalState::kPass);
  const SignalEvaluation e = EvaluateOne(rule, Samples(5, 0.98));
  EXPECT_EQ(e.state, SignalState::kBreach);
  EXPECT_TRUE(e.absolute_breach);
}

// `bad_when: above` picks the bound (max), not the aggregate: with
// `aggregate: mean` a single sample over max does not breach.
TEST(EvaluateTest, TheAggregateKeyNotBadWhenDecidesHowSamplesCombine) {
  const auto canary = Join(Samples(4, 0.01, Now() - Seconds(1)), {{Now(), 0.2}});  // mean 0.048
  EXPECT_EQ(EvaluateOne(ErrorRatioRule(), canary).state, SignalState::kPass);

  policy::SignalRule max_rule = ErrorRatioRule();
  max_rule.aggregate = policy::AggregateKind::kMax;
  EXPECT_EQ(EvaluateOne(max_rule, canary).state, SignalState::kBreach);

  policy::SignalRule last_rule = ErrorRatioRule();
  last_rule.aggregate = policy::AggregateKind::kLast;
  const SignalEvaluation last = EvaluateOne(last_rule, canary);
  EXPECT_EQ(last.state, SignalState::kBreach);
  EXPECT_DOUBLE_EQ(last.canary->value, 0.2);
}

// ---- the baseline -----------------------------------------------------------

TEST(EvaluateTest, RecordsCanaryAndBaselineAggregates) {
  const SignalEvaluation e =
      EvaluateOne(ErrorRatioRule(), Samples(6, 0.02, Now() - Seconds(2)), Samples(7, 0.01, Now() - Seconds(3)));
  ASSERT_TRUE(e.canary.has_value());
  EXPECT_DOUBLE_EQ(e.canary->value, 0.02);
  EXPECT_EQ(e.canary->samples, 6);
  EXPECT_EQ(e.canary->newest_at, Now() - Seconds(2));
  ASSERT_TRUE(e.baseline.has_value());
  EXPECT_DOUBLE_EQ(e.baseline->value, 0.01);
  EXPECT_EQ(e.baseline->samples, 7);
  EXPECT_EQ(e.baseline->newest_at, Now() - Seconds(3));
  EXPECT_FALSE(e.p_value.has_value());  // no baseline rule, no test
}

TEST(EvaluateTest, BreachesOnTheBaselineRatioWithoutATest) {
  const auto rule = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kNone);
  const SignalEvaluation e = EvaluateOne(rule, Samples(5, 0.03), Samples(5, 0.01));
  EXPECT_EQ(e.state, SignalState::kBreach);
  EXPECT_FALSE(e.absolute_breach);
  EXPECT_TRUE(e.baseline_breach);
  // Exactly ratio times the baseline is not worse.
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 0.02), Samples(5, 0.01)).state, SignalState::kPass);
}

TEST(EvaluateTest, MinDeltaKeepsTinyBaselineValuesFromBreaching) {
  // Baseline 0, canary 0.001: infinitely "worse" by ratio, but only 0.001 apart.
  const auto gated = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kNone);
  const SignalEvaluation e = EvaluateOne(gated, Samples(5, 0.001), Samples(5, 0.0));
  EXPECT_EQ(e.state, SignalState::kPass);
  EXPECT_FALSE(e.baseline_breach);

  const auto ungated = WithBaseline(ErrorRatioRule(), 2.0, 0.0, policy::StatTest::kNone);
  EXPECT_EQ(EvaluateOne(ungated, Samples(5, 0.001), Samples(5, 0.0)).state, SignalState::kBreach);
}

TEST(EvaluateTest, MinDeltaIsInclusive) {
  const auto rule = WithBaseline(ErrorRatioRule(), 2.0, 0.5, policy::StatTest::kNone);
  policy::SignalRule loose = rule;
  loose.max = 100.0;
  EXPECT_EQ(EvaluateOne(loose, Samples(5, 1.5), Samples(5, 0.5)).state, SignalState::kBreach);   // delta 1.0
  EXPECT_EQ(EvaluateOne(loose, Samples(5, 0.75), Samples(5, 0.25)).state, SignalState::kBreach);  // delta 0.5
  EXPECT_EQ(EvaluateOne(loose, Samples(5, 0.7), Samples(5, 0.25)).state, SignalState::kPass);     // delta 0.45
}

TEST(EvaluateTest, BelowComparesWithTheBaselineDividedByTheRatio) {
  policy::SignalRule rule;
  rule.name = "orders_per_second";
  rule.bad_when = policy::BadWhen::kBelow;
  rule.min = 10.0;
  rule.baseline = policy::BaselineRule{2.0, 1.0, policy::StatTest::kNone, 0.98};
  const SignalEvaluation worse = EvaluateOne(rule, Samples(5, 40.0), Samples(5, 100.0));
  EXPECT_EQ(worse.state, SignalState::kBreach);
  EXPECT_TRUE(worse.baseline_breach);
  EXPECT_FALSE(worse.absolute_breach);
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 60.0), Samples(5, 100.0)).state, SignalState::kPass);
  // Higher than the baseline is better for a `below` signal.
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 400.0), Samples(5, 100.0)).state, SignalState::kPass);
}

TEST(EvaluateTest, BelowUsesTheLowerTailOfTheTest) {
  policy::SignalRule rule;
  rule.name = "orders_per_second";
  rule.bad_when = policy::BadWhen::kBelow;
  rule.min = 10.0;
  rule.baseline = policy::BaselineRule{2.0, 1.0, policy::StatTest::kMannWhitney, 0.98};
  std::vector<telemetry::Sample> canary;
  std::vector<telemetry::Sample> baseline;
  for (int i = 0; i < 20; ++i) {
    canary.push_back({Now() - Seconds(i), 40.0 + i});
    baseline.push_back({Now() - Seconds(i), 100.0 + i});
  }
  const SignalEvaluation e = EvaluateOne(rule, canary, baseline);
  ASSERT_TRUE(e.p_value.has_value());
  EXPECT_LT(*e.p_value, 0.02);
  EXPECT_EQ(e.state, SignalState::kBreach);
}

TEST(EvaluateTest, ABaselineWithTooFewSamplesLeavesOnlyTheAbsoluteBound) {
  const auto rule = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kNone);
  // 0.04 is four times the baseline, but the baseline has 4 of 5 samples.
  const SignalEvaluation skipped = EvaluateOne(rule, Samples(5, 0.04), Samples(4, 0.01));
  EXPECT_EQ(skipped.state, SignalState::kPass);
  ASSERT_TRUE(skipped.baseline.has_value());  // still shown as evidence
  EXPECT_EQ(skipped.baseline->samples, 4);
  EXPECT_FALSE(skipped.p_value.has_value());
  // The absolute bound still applies.
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 0.06), Samples(4, 0.01)).state, SignalState::kBreach);
  // No baseline at all: the same.
  EXPECT_EQ(EvaluateOne(rule, Samples(5, 0.04), {}).state, SignalState::kPass);
  EXPECT_FALSE(EvaluateOne(rule, Samples(5, 0.04), {}).baseline.has_value());
}

TEST(EvaluateTest, WithoutAPreviousVersionTheBaselineSeriesIsIgnored) {
  const auto rule = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kNone);
  const SignalEvaluation e = EvaluateOne(rule, Samples(5, 0.04), Samples(5, 0.01), /*previous_version_known=*/false);
  EXPECT_EQ(e.state, SignalState::kPass);
  EXPECT_FALSE(e.baseline.has_value());
}

// One spike in the window lifts the canary mean far above twice the
// baseline's, but the ranks barely move (U = 205 against mu = 200,
// p = 0.445), so with the test the signal passes; without it, it breaches.
TEST(EvaluateTest, MannWhitneyKeepsASingleSpikeFromReadingAsARegression) {
  auto canary = Join(Samples(10, 0.009), Samples(9, 0.011, Now() - Millis(500)));
  canary.push_back({Now() - Millis(250), 1.0});  // mean 0.05945, baseline mean 0.01
  auto with_test = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kMannWhitney, 0.98);
  with_test.max = 0.5;  // keep the absolute bound out of the way
  const SignalEvaluation gated = EvaluateOne(with_test, canary, QuietBaseline());
  EXPECT_EQ(gated.state, SignalState::kPass);
  EXPECT_FALSE(gated.baseline_breach);
  ASSERT_TRUE(gated.p_value.has_value());
  EXPECT_NEAR(*gated.p_value, 0.4448, 1e-3);

  auto without_test = with_test;
  without_test.baseline->test = policy::StatTest::kNone;
  EXPECT_EQ(EvaluateOne(without_test, canary, QuietBaseline()).state, SignalState::kBreach);
}

TEST(EvaluateTest, MannWhitneyConfirmsASustainedRegression) {
  auto rule = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kMannWhitney, 0.98);
  const SignalEvaluation e = EvaluateOne(rule, Samples(20, 0.03), QuietBaseline());
  EXPECT_EQ(e.state, SignalState::kBreach);
  EXPECT_TRUE(e.baseline_breach);
  EXPECT_FALSE(e.absolute_breach);
  EXPECT_LT(*e.p_value, 1e-6);
}

TEST(EvaluateTest, TheAbsoluteBoundIsNotGatedByTheTest) {
  auto rule = WithBaseline(ErrorRatioRule(), 2.0, 0.01, policy::StatTest::kMannWhitney, 0.98);
  // Canary and baseline identical and both over max: the test finds nothing,
  // the absolute bound still breaches.
  const SignalEvaluation e = EvaluateOne(rule, Samples(5, 0.2), Samples(5, 0.2));
  EXPECT_EQ(e.state, SignalState::kBreach);
  EXPECT_TRUE(e.absolute_breach);
  EXPECT_FALSE(e.baseline_breach);
  EXPECT_DOUBLE_EQ(*e.p_value, 1.0);
}

TEST(EvaluateTest, FlagsABaselineThatViolatesTheSameBoundOnlyWithEnoughSamples) {
  EXPECT_TRUE(EvaluateOne(ErrorRatioRule(), Samples(5, 0.1), Samples(5, 0.08)).baseline_absolute_breach);
  EXPECT_FALSE(EvaluateOne(ErrorRatioRule(), Samples(5, 0.1), Samples(4, 0.08)).baseline_absolute_breach);
  EXPECT_FALSE(EvaluateOne(ErrorRatioRule(), Samples(5, 0.1), Samples(5, 0.04)).baseline_absolute_breach);
}

// ---- sources ----------------------------------------------------------------

TEST(EvaluateTest, EvaluatesEverySourceInSortedOrderMergingRepeatedPairs) {
  const TelemetrySnapshot snapshot{{
      Series(kSignal, "prometheus", Samples(3, 0.01)),
      Series(kSignal, "app", Samples(5, 0.2)),
      Series(kSignal, "prometheus", Samples(2, 0.01, Now() - Seconds(10))),
      Series("unrelated_signal", "app", Samples(5, 99.0)),
  }};
  const auto evaluations = EvaluateSignals(Release(), Thresholds(), snapshot, Now());
  ASSERT_EQ(evaluations.size(), 2u);
  EXPECT_EQ(evaluations[0].source, "app");
  EXPECT_EQ(evaluations[0].state, SignalState::kBreach);
  EXPECT_EQ(evaluations[1].source, "prometheus");
  EXPECT_EQ(evaluations[1].canary->samples, 5);
  EXPECT_EQ(evaluations[1].state, SignalState::kPass);
}

TEST(EvaluateTest, ASourceOnlyThePreviousVersionReportedIsInsufficient) {
  const TelemetrySnapshot snapshot{{
      Series(kSignal, "app", Samples(5, 0.01), Samples(5, 0.01)),
      Series(kSignal, "prometheus", {}, Samples(5, 0.01)),
  }};
  const auto evaluations = EvaluateSignals(Release(), Thresholds(), snapshot, Now());
  ASSERT_EQ(evaluations.size(), 2u);
  EXPECT_EQ(evaluations[1].source, "prometheus");
  EXPECT_EQ(evaluations[1].state, SignalState::kInsufficient);
  EXPECT_TRUE(evaluations[1].baseline.has_value());
}

}  // namespace
}  // namespace backstop::decision
