#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "backstop/decision/decide.hpp"
#include "decision_test_support.hpp"

// conflict.flapping (DESIGN "Evaluation, conflicts and the decision"): more
// than flap_limit flips within the window, a flip being a crossing of the
// absolute bound by the canary aggregate with hysteresis — from below
// 0.9 x the bound to above 1.1 x it, or back (`below`: mirrored). The
// aggregate is read at every canary sample time (signal_history.cpp), so the
// count is a function of the samples, not of how often evaluation runs.

namespace backstop::decision {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): test fixtures only

constexpr double kMax = 0.05;  // http_5xx_ratio's bound in Thresholds()
constexpr double kMin = 0.5;   // the bound of the `below` variant

policy::ThresholdSet BelowThresholds() {
  policy::ThresholdSet t = Thresholds();
  t.signals[0].bad_when = policy::BadWhen::kBelow;
  t.signals[0].max.reset();
  t.signals[0].min = kMin;
  return t;
}

// Five samples of `value` ending at `at`: a window aggregate of exactly `value`.
TelemetrySnapshot At(TimePoint at, double value) {
  return TelemetrySnapshot{{Series(kSignal, "default", Samples(5, value, at))}};
}

const SignalHistory& HistoryOf(const Decision& d) { return d.history.signals.at({kSignal, "default"}); }

bool Flapping(const Decision& d) {
  const auto& c = d.evaluation.conflicts;
  return std::find(c.begin(), c.end(), ReasonCode::kConflictFlapping) != c.end();
}

// ---- what a flip is: the table ----------------------------------------------

struct FlipCase {
  std::string name;
  bool below = false;
  std::vector<double> aggregate;  // successive aggregates, as multiples of the bound, 10 s apart
  std::size_t flips = 0;
  bool flapping = false;          // flap_limit is 3
};

void PrintTo(const FlipCase& c, std::ostream* os) { *os << c.name; }

class FlipTest : public ::testing::TestWithParam<FlipCase> {};

TEST_P(FlipTest, CountsCrossingsOfTheHysteresisBandOnly) {
  const FlipCase& c = GetParam();
  const double bound = c.below ? kMin : kMax;
  Timeline timeline(c.below ? BelowThresholds() : Thresholds(), Release());
  TimePoint at = Now() - Minutes(3);
  Decision d;
  for (double factor : c.aggregate) {
    d = timeline.Step(at, At(at, factor * bound));
    at += Seconds(10);
  }
  EXPECT_EQ(HistoryOf(d).flips.size(), c.flips);
  EXPECT_EQ(Flapping(d), c.flapping);
}

INSTANTIATE_TEST_SUITE_P(
    Hysteresis, FlipTest,
    ::testing::Values(
        // The state alternates breach/pass at every step, yet nothing crosses the band.
        FlipCase{"HoveringBetween095And105OfTheBoundIsNotFlapping", false,
                 {0.95, 1.05, 0.95, 1.05, 0.95, 1.05, 0.95, 1.05, 0.95, 1.05}, 0, false},
        FlipCase{"AlternatingBetween05And2xTheBoundIsFlapping", false, {0.5, 2, 0.5, 2, 0.5, 2}, 5, true},
        FlipCase{"ExactlyFlapLimitCrossingsIsNotFlapping", false, {0.5, 2, 0.5, 2}, 3, false},
        FlipCase{"OneCrossingMoreThanFlapLimitIsFlapping", false, {0.5, 2, 0.5, 2, 0.5}, 4, true},
        FlipCase{"JustPastBothEdgesOfTheBandIsACrossing", false, {0.89, 1.11, 0.89, 1.11, 0.89}, 4, true},
        FlipCase{"ReachingTheEdgesOfTheBandExactlyIsNotACrossing", false, {0.9, 1.1, 0.9, 1.1, 0.9, 1.1}, 0, false},
        FlipCase{"EnteringTheBandAndTurningBackIsNotACrossing", false, {0.5, 1.05, 0.5, 1.05, 0.5, 1.05}, 0, false},
        FlipCase{"ACrossingInStepsThroughTheBandCountsOnce", false, {0.5, 0.95, 1.05, 2, 1.05, 0.95, 0.5, 0.95, 2},
                 3, false},
        FlipCase{"BelowHoveringBetween095And105OfTheBoundIsNotFlapping", true,
                 {1.05, 0.95, 1.05, 0.95, 1.05, 0.95, 1.05, 0.95}, 0, false},
        FlipCase{"BelowAlternatingBetween2And05xTheBoundIsFlapping", true, {2, 0.5, 2, 0.5, 2, 0.5}, 5, true},
        FlipCase{"BelowJustPastBothEdgesOfTheBandIsACrossing", true, {1.11, 0.89, 1.11, 0.89, 1.11}, 4, true}),
    [](const ::testing::TestParamInfo<FlipCase>& info) { return info.param.name; });

// The old rule counted breach<->pass changes of the state; a comparison with
// the baseline that holds at one step and not at the next changed the state
// without the canary going anywhere near its bound.
TEST(FlappingTest, ABaselineComparisonThatComesAndGoesIsNotFlapping) {
  policy::ThresholdSet t = Thresholds();
  t.signals[0].baseline = policy::BaselineRule{2.0, 0.01, policy::StatTest::kNone, 0.95};
  Timeline timeline(t, Release());
  TimePoint at = Now() - Minutes(3);
  Decision d;
  for (int i = 0; i < 8; ++i) {
    const double baseline = i % 2 == 0 ? 0.01 : 0.025;  // canary 0.03: 3x (breach), then 1.2x (pass)
    d = timeline.Step(at, TelemetrySnapshot{{Series(kSignal, "default", Samples(5, 0.03, at),
                                                    Samples(5, baseline, at))}});
    EXPECT_EQ(d.evaluation.signals[0].state, i % 2 == 0 ? SignalState::kBreach : SignalState::kPass);
    at += Seconds(10);
  }
  EXPECT_TRUE(HistoryOf(d).flips.empty());
  EXPECT_FALSE(Flapping(d));
}

// ---- the same samples, any evaluation rate ---------------------------------

struct RateCase {
  std::string name;
  policy::AggregateKind aggregate;
  Millis window;
  Millis spacing;                          // between samples
  Millis length;                           // of the series
  std::function<double(Millis)> value;     // the sample value at an offset from the start
  std::size_t flips;                       // every crossing the series makes
};

void PrintTo(const RateCase& c, std::ostream* os) { *os << c.name; }

// One evaluation every `cadence` from `start` to `end`, each given every
// sample of the series (Decide ignores those dated after its `now`, as the
// evaluator never sees them before they arrive). Returns the flips held after
// each evaluation, by evaluation time.
std::map<TimePoint, std::vector<TimePoint>> EvaluateEvery(Millis cadence, const policy::ThresholdSet& thresholds,
                                                          const TelemetrySnapshot& series, TimePoint start,
                                                          TimePoint end) {
  Timeline timeline(thresholds, Release());
  std::map<TimePoint, std::vector<TimePoint>> flips;
  for (TimePoint at = start; at <= end; at += cadence) {
    flips[at] = HistoryOf(timeline.Step(at, series)).flips;
  }
  return flips;
}

class FlipRateTest : public ::testing::TestWithParam<RateCase> {};

TEST_P(FlipRateTest, TheSameSamplesGiveTheSameFlipsEvaluatedEvery200msOrEverySecond) {
  const RateCase& c = GetParam();
  policy::ThresholdSet thresholds = Thresholds();
  thresholds.evaluation.window = c.window;
  thresholds.evaluation.flap_limit = 1000;  // only the count matters here
  thresholds.signals[0].aggregate = c.aggregate;
  const TimePoint start = Now() - Minutes(2);
  std::vector<telemetry::Sample> samples;
  for (Millis offset{0}; offset <= c.length; offset += c.spacing) samples.push_back({start + offset, c.value(offset)});
  const TelemetrySnapshot series{{Series(kSignal, "default", samples)}};
  const TimePoint end = start + c.length;

  const auto every_200ms = EvaluateEvery(Millis(200), thresholds, series, start, end);
  const auto every_second = EvaluateEvery(Seconds(1), thresholds, series, start, end);
  std::set<TimePoint> seen;
  for (const auto& [at, flips] : every_second) {
    ASSERT_TRUE(every_200ms.contains(at));
    EXPECT_EQ(every_200ms.at(at), flips) << "at +" << (at - start).count() << " ms";
    seen.insert(flips.begin(), flips.end());
  }
  EXPECT_EQ(seen.size(), c.flips);
}

// Whole seconds since the start of the series.
long long WholeSeconds(Millis offset) { return offset.count() / 1000; }
bool OnAWholeSecond(Millis offset) { return offset.count() % 1000 == 0; }

INSTANTIATE_TEST_SUITE_P(
    Series, FlipRateTest,
    ::testing::Values(
        // `last`, a sample every 200 ms: 4x the bound on every whole second,
        // and during odd seconds 0.2x in between. Evaluated on whole seconds
        // the aggregate never leaves 4x; the samples cross the band twice in
        // each odd second, 30 times in 30 s.
        RateCase{"LastAggregateThatDipsBetweenWholeSeconds", policy::AggregateKind::kLast, Minutes(5), Millis(200),
                 Seconds(30),
                 [](Millis o) { return OnAWholeSecond(o) || WholeSeconds(o) % 2 == 0 ? 0.2 : 0.01; }, 30},
        // `mean` and `max` over a 10 s window of phases 10 s long, alternating
        // 0.2x and 4x the bound: the aggregate crosses once per phase change.
        RateCase{"MeanAggregateOfAlternatingPhases", policy::AggregateKind::kMean, Seconds(10), Millis(100),
                 Seconds(60), [](Millis o) { return WholeSeconds(o) / 10 % 2 == 0 ? 0.01 : 0.2; }, 5},
        RateCase{"MaxAggregateOfAlternatingPhases", policy::AggregateKind::kMax, Seconds(10), Millis(100),
                 Seconds(60), [](Millis o) { return WholeSeconds(o) / 10 % 2 == 0 ? 0.01 : 0.2; }, 5}),
    [](const ::testing::TestParamInfo<RateCase>& info) { return info.param.name; });

// ---- where the count starts and what it ignores ------------------------------

// Without a history (the first evaluation, or the first after a restart) the
// flips within the window are recounted from the samples held.
TEST(FlappingTest, AnEmptyHistoryRecountsTheFlipsFromTheSamplesHeld) {
  std::vector<telemetry::Sample> samples;
  const TimePoint start = Now() - Minutes(1);
  for (int i = 0; i < 60; ++i) samples.push_back({start + Seconds(i), (i / 10) % 2 == 0 ? 0.025 : 0.1});
  policy::ThresholdSet t = Thresholds();
  t.signals[0].aggregate = policy::AggregateKind::kLast;
  const TelemetrySnapshot series{{Series(kSignal, "default", samples)}};
  const Decision d = Decide(Release(), t, series, Context(Mode::kNormal, 0, start + Seconds(59)), {});
  EXPECT_EQ(HistoryOf(d).flips, (std::vector<TimePoint>{start + Seconds(10), start + Seconds(20), start + Seconds(30),
                                                        start + Seconds(40), start + Seconds(50)}));
  EXPECT_EQ(HistoryOf(d).examined_through, start + Seconds(59));
  EXPECT_TRUE(Flapping(d));
}

TEST(FlappingTest, PointsWithFewerThanMinSamplesInTheirWindowAreNotExamined) {
  // Four samples at 4x then one at 0.2x: only the fifth point has min_samples
  // (5) in its window, so there is one point and no crossing.
  policy::ThresholdSet t = Thresholds();
  t.signals[0].aggregate = policy::AggregateKind::kLast;
  const TelemetrySnapshot s{{Series(kSignal, "default", Join(Samples(4, 0.2, Now() - Seconds(1)), Samples(1, 0.01)))}};
  const Decision d = Decide(Release(), t, s, Context(), {});
  EXPECT_TRUE(HistoryOf(d).flips.empty());
  EXPECT_EQ(HistoryOf(d).side, BoundSide::kClear);
}

TEST(FlappingTest, ASampleArrivingLateBehindTheExaminedOnesIsNotExamined) {
  policy::ThresholdSet t = Thresholds();
  t.signals[0].aggregate = policy::AggregateKind::kLast;
  Timeline timeline(t, Release());
  const TimePoint t0 = Now() - Minutes(1);
  std::vector<telemetry::Sample> samples = Samples(5, 0.01, t0);
  timeline.Step(t0, TelemetrySnapshot{{Series(kSignal, "default", samples)}});
  samples.push_back({t0 - Millis(500), 0.2});  // dated before t0, posted after it was examined
  const Decision d = timeline.Step(t0 + Seconds(1), TelemetrySnapshot{{Series(kSignal, "default", samples)}});
  EXPECT_TRUE(HistoryOf(d).flips.empty());
  EXPECT_EQ(HistoryOf(d).side, BoundSide::kClear);
}

}  // namespace
}  // namespace backstop::decision
