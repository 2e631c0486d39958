#include <gtest/gtest.h>

#include <limits>
#include <utility>
#include <vector>

#include "backstop/decision/statistics.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

using test_support::Now;
using test_support::Seconds;

TEST(AggregateTest, MeanIsTheArithmeticMean) {
  const std::vector<telemetry::Sample> s{{Now(), 1.0}, {Now(), 2.0}, {Now(), 6.0}};
  EXPECT_DOUBLE_EQ(*Aggregate(policy::AggregateKind::kMean, s), 3.0);
}

// Issue 16: three samples of 1.7e308 are finite; their plain sum is not.
TEST(AggregateTest, MeanOfValuesNearTheDoubleMaximumDoesNotOverflow) {
  const std::vector<telemetry::Sample> s{{Now(), 1.7e308}, {Now(), 1.7e308}, {Now(), 1.7e308}};
  EXPECT_DOUBLE_EQ(*Aggregate(policy::AggregateKind::kMean, s), 1.7e308);
  const std::vector<telemetry::Sample> low{{Now(), -1.7e308}, {Now(), -1.7e308}};
  EXPECT_DOUBLE_EQ(*Aggregate(policy::AggregateKind::kMean, low), -1.7e308);
  const double max = std::numeric_limits<double>::max();
  const std::vector<telemetry::Sample> extreme{{Now(), max}, {Now(), max}, {Now(), max}, {Now(), max}};
  EXPECT_EQ(*Aggregate(policy::AggregateKind::kMean, extreme), max);
}

TEST(AggregateTest, MeanWhosePartialSumOverflowsStillAveragesEveryValue) {
  // 1.7e308 + 1.7e308 overflows before -1.7e308 brings the sum back.
  const std::vector<telemetry::Sample> s{{Now(), 1.7e308}, {Now(), 1.7e308}, {Now(), -1.7e308}};
  EXPECT_NEAR(*Aggregate(policy::AggregateKind::kMean, s), 1.7e308 / 3.0, 1e293);
}

TEST(AggregateTest, MaxIsTheLargestValue) {
  const std::vector<telemetry::Sample> s{{Now(), -1.0}, {Now(), 7.5}, {Now(), 2.0}};
  EXPECT_DOUBLE_EQ(*Aggregate(policy::AggregateKind::kMax, s), 7.5);
}

TEST(AggregateTest, LastIsTheValueWithTheLatestTimestampNotTheLastGiven) {
  const std::vector<telemetry::Sample> s{{Now() - Seconds(1), 1.0}, {Now(), 2.0}, {Now() - Seconds(5), 3.0}};
  EXPECT_DOUBLE_EQ(*Aggregate(policy::AggregateKind::kLast, s), 2.0);
}

TEST(AggregateTest, LastOnEqualTimestampsTakesTheOneGivenLast) {
  const std::vector<telemetry::Sample> s{{Now(), 1.0}, {Now(), 2.0}, {Now() - Seconds(1), 3.0}};
  EXPECT_DOUBLE_EQ(*Aggregate(policy::AggregateKind::kLast, s), 2.0);
}

TEST(AggregateTest, EmptySamplesHaveNoAggregate) {
  const std::vector<telemetry::Sample> none;
  EXPECT_FALSE(Aggregate(policy::AggregateKind::kMean, none).has_value());
  EXPECT_FALSE(Aggregate(policy::AggregateKind::kMax, none).has_value());
  EXPECT_FALSE(Aggregate(policy::AggregateKind::kLast, none).has_value());
}

// ---- the aggregate as a function of sample time ------------------------------

using Points = std::vector<AggregatePoint>;

std::vector<std::pair<double, int>> ValuesAndCounts(const Points& points) {
  std::vector<std::pair<double, int>> out;
  for (const auto& p : points) out.emplace_back(p.value, p.samples);
  return out;
}

TEST(AggregatesAtSampleTimesTest, EachPointAggregatesTheWindowEndingAtItsSample) {
  // Given out of order; a 3 s window (t - 3 s, t].
  const std::vector<telemetry::Sample> s{{Now(), 4.0}, {Now() - Seconds(3), 1.0}, {Now() - Seconds(1), 3.0},
                                         {Now() - Seconds(2), 2.0}};
  const Points points = AggregatesAtSampleTimes(policy::AggregateKind::kMean, s, Seconds(3), std::nullopt, Now());
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].at, Now() - Seconds(3));
  EXPECT_EQ(points[3].at, Now());
  // The sample exactly 3 s older than a point is out of its window.
  EXPECT_EQ(ValuesAndCounts(points), (std::vector<std::pair<double, int>>{{1.0, 1}, {1.5, 2}, {2.0, 3}, {3.0, 3}}));
}

TEST(AggregatesAtSampleTimesTest, OnlyTimesAfterTheExaminedOnesAndNotAfterUntil) {
  const std::vector<telemetry::Sample> s{{Now() - Seconds(2), 1.0}, {Now() - Seconds(1), 2.0}, {Now(), 3.0},
                                         {Now() + Seconds(1), 9.0}};
  const Points points =
      AggregatesAtSampleTimes(policy::AggregateKind::kMax, s, Seconds(10), Now() - Seconds(2), Now());
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].at, Now() - Seconds(1));
  EXPECT_EQ(ValuesAndCounts(points), (std::vector<std::pair<double, int>>{{2.0, 2}, {3.0, 3}}));
}

TEST(AggregatesAtSampleTimesTest, SamplesSharingATimeMakeOnePoint) {
  const std::vector<telemetry::Sample> s{{Now(), 1.0}, {Now() - Seconds(1), 5.0}, {Now(), 2.0}};
  const Points points = AggregatesAtSampleTimes(policy::AggregateKind::kLast, s, Seconds(10), std::nullopt, Now());
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[1].at, Now());
  EXPECT_DOUBLE_EQ(points[1].value, 2.0);  // the one given last, as Aggregate
  EXPECT_EQ(points[1].samples, 3);
}

// The scipy.stats.mannwhitneyu documentation example: U1 = 17 and a two-sided
// asymptotic p of 0.11134688653314041, so the one-sided "greater" p is half.
// By hand: n = 9, no ties, mu = 10, sigma^2 = 20 * 10 / 12,
// z = (17 - 10 - 0.5) / 4.0825 = 1.59217.
TEST(MannWhitneyTest, MatchesTheScipyExampleWithoutTies) {
  const std::vector<double> males{19, 22, 16, 29, 24};
  const std::vector<double> females{20, 11, 17, 12};
  const MannWhitneyResult r = MannWhitneyU(males, females, Alternative::kGreater);
  EXPECT_DOUBLE_EQ(r.u, 17.0);
  EXPECT_NEAR(r.z, 1.5921683328, 1e-9);
  EXPECT_NEAR(r.p_value, 0.11134688653314041 / 2.0, 1e-12);
}

// "Less" corrects towards the null from the other side:
// z = (17 - 10 + 0.5) / 4.0825 = 1.83712, p = Phi(z).
TEST(MannWhitneyTest, LessTestsTheOtherTail) {
  const std::vector<double> males{19, 22, 16, 29, 24};
  const std::vector<double> females{20, 11, 17, 12};
  const MannWhitneyResult r = MannWhitneyU(males, females, Alternative::kLess);
  EXPECT_DOUBLE_EQ(r.u, 17.0);
  EXPECT_NEAR(r.z, 1.8371173071, 1e-9);
  EXPECT_NEAR(r.p_value, 0.9669037101, 1e-9);
}

// Complete separation of {3,4,5} over {1,2}: U = 6, mu = 3, sigma^2 = 3,
// z = 2.5 / sqrt(3) = 1.44338, p = 0.0744573.
TEST(MannWhitneyTest, CompleteSeparationOfSmallSamples) {
  const std::vector<double> a{5, 3, 4};
  const std::vector<double> b{2, 1};
  const MannWhitneyResult greater = MannWhitneyU(a, b, Alternative::kGreater);
  EXPECT_DOUBLE_EQ(greater.u, 6.0);
  EXPECT_NEAR(greater.z, 1.4433756730, 1e-9);
  EXPECT_NEAR(greater.p_value, 0.0744573366, 1e-9);
  // The same data seen from B: U = 0, the mirror image.
  const MannWhitneyResult less = MannWhitneyU(b, a, Alternative::kLess);
  EXPECT_DOUBLE_EQ(less.u, 0.0);
  EXPECT_NEAR(less.p_value, greater.p_value, 1e-12);
}

// a = {1,2,2,3}, b = {2,3,3,4}. Average ranks: 1 -> 1, the three 2s -> 3,
// the three 3s -> 6, 4 -> 8. R_a = 13, U = 13 - 10 = 3. Tie term
// (27 - 3) * 2 = 48; sigma^2 = 16/12 * (9 - 48/56) = 10.857;
// less: z = (3 - 8 + 0.5) / 3.2950 = -1.36570, p = 0.0860169.
TEST(MannWhitneyTest, CorrectsTheVarianceForTies) {
  const std::vector<double> a{1, 2, 2, 3};
  const std::vector<double> b{2, 3, 3, 4};
  const MannWhitneyResult less = MannWhitneyU(a, b, Alternative::kLess);
  EXPECT_DOUBLE_EQ(less.u, 3.0);
  EXPECT_NEAR(less.z, -1.3656982020, 1e-9);
  EXPECT_NEAR(less.p_value, 0.0860168545, 1e-9);
  const MannWhitneyResult greater = MannWhitneyU(a, b, Alternative::kGreater);
  EXPECT_NEAR(greater.z, -1.6691866913, 1e-9);
  EXPECT_NEAR(greater.p_value, 0.9524598066, 1e-9);
}

TEST(MannWhitneyTest, AllTiedValuesGiveNoEvidence) {
  const std::vector<double> a{0.01, 0.01, 0.01};
  const std::vector<double> b{0.01, 0.01};
  for (Alternative alt : {Alternative::kGreater, Alternative::kLess}) {
    const MannWhitneyResult r = MannWhitneyU(a, b, alt);
    EXPECT_DOUBLE_EQ(r.u, 3.0);
    EXPECT_DOUBLE_EQ(r.p_value, 1.0);
  }
}

TEST(MannWhitneyTest, AnEmptySampleGivesNoEvidence) {
  const std::vector<double> some{1, 2, 3};
  const std::vector<double> none;
  EXPECT_DOUBLE_EQ(MannWhitneyU(some, none, Alternative::kGreater).p_value, 1.0);
  EXPECT_DOUBLE_EQ(MannWhitneyU(none, some, Alternative::kGreater).p_value, 1.0);
  EXPECT_DOUBLE_EQ(MannWhitneyU(none, none, Alternative::kLess).p_value, 1.0);
}

TEST(MannWhitneyTest, IdenticalSamplesAreNotSignificantEitherWay) {
  const std::vector<double> a{1, 2, 3, 4, 5, 6};
  const MannWhitneyResult greater = MannWhitneyU(a, a, Alternative::kGreater);
  const MannWhitneyResult less = MannWhitneyU(a, a, Alternative::kLess);
  EXPECT_DOUBLE_EQ(greater.u, 18.0);
  EXPECT_GT(greater.p_value, 0.5);
  EXPECT_GT(less.p_value, 0.5);
}

TEST(MannWhitneyTest, ASustainedShiftIsHighlySignificant) {
  std::vector<double> low;
  std::vector<double> high;
  for (int i = 0; i < 20; ++i) {
    low.push_back(i);
    high.push_back(100 + i);
  }
  EXPECT_LT(MannWhitneyU(high, low, Alternative::kGreater).p_value, 1e-6);
  EXPECT_GT(MannWhitneyU(high, low, Alternative::kLess).p_value, 0.999);
  EXPECT_LT(MannWhitneyU(low, high, Alternative::kLess).p_value, 1e-6);
}

}  // namespace
}  // namespace backstop::decision
