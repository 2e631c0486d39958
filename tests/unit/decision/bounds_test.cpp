#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

#include "backstop/decision/bounds.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

using test_support::ErrorRatioRule;

policy::SignalRule AboveRule(double max) {
  policy::SignalRule rule = ErrorRatioRule();
  rule.max = max;
  return rule;
}

policy::SignalRule BelowRule(double min) {
  policy::SignalRule rule = ErrorRatioRule();
  rule.bad_when = policy::BadWhen::kBelow;
  rule.max.reset();
  rule.min = min;
  return rule;
}

struct BandCase {
  std::string name;
  policy::SignalRule rule;
  double value;
  bool near;                       // NearOrPastBound
  std::optional<BoundSide> side;   // SideOfBand
};

void PrintTo(const BandCase& c, std::ostream* os) { *os << c.name; }

class BoundsTest : public ::testing::TestWithParam<BandCase> {};

TEST_P(BoundsTest, PlacesAValueAgainstTheBound) {
  const BandCase& c = GetParam();
  EXPECT_EQ(NearOrPastBound(c.rule, c.value), c.near);
  EXPECT_EQ(SideOfBand(c.rule, c.value), c.side);
}

INSTANTIATE_TEST_SUITE_P(
    Edges, BoundsTest,
    ::testing::Values(
        BandCase{"AboveFarUnder", AboveRule(0.05), 0.01, false, BoundSide::kClear},
        BandCase{"AboveJustUnderEightyPercent", AboveRule(0.05), 0.0399, false, BoundSide::kClear},
        BandCase{"AboveAtEightyPercentWrittenInDecimal", AboveRule(0.05), 0.04, true, BoundSide::kClear},
        BandCase{"AboveJustUnderTheBand", AboveRule(0.05), 0.0449, true, BoundSide::kClear},
        BandCase{"AboveAtTheLowerEdgeOfTheBand", AboveRule(0.05), 0.9 * 0.05, true, std::nullopt},
        BandCase{"AboveAtTheBound", AboveRule(0.05), 0.05, true, std::nullopt},
        BandCase{"AboveAtTheUpperEdgeOfTheBand", AboveRule(0.05), 1.1 * 0.05, true, std::nullopt},
        BandCase{"AboveJustOverTheBand", AboveRule(0.05), 0.0551, true, BoundSide::kPast},
        BandCase{"BelowFarOver", BelowRule(0.5), 2.0, false, BoundSide::kClear},
        BandCase{"BelowJustOverTwentyPercent", BelowRule(0.5), 0.601, false, BoundSide::kClear},
        BandCase{"BelowAtTwentyPercent", BelowRule(0.5), 0.6, true, BoundSide::kClear},
        BandCase{"BelowAtTheUpperEdgeOfTheBand", BelowRule(0.5), 0.55, true, std::nullopt},
        BandCase{"BelowAtTheLowerEdgeOfTheBand", BelowRule(0.5), 0.45, true, std::nullopt},
        BandCase{"BelowJustUnderTheBand", BelowRule(0.5), 0.449, true, BoundSide::kPast},
        // A zero bound has no band: any excess at all is past it.
        BandCase{"AboveZeroBoundAtZero", AboveRule(0.0), 0.0, true, std::nullopt},
        BandCase{"AboveZeroBoundExceeded", AboveRule(0.0), 0.001, true, BoundSide::kPast},
        BandCase{"AboveZeroBoundUnder", AboveRule(0.0), -0.001, false, BoundSide::kClear}),
    [](const ::testing::TestParamInfo<BandCase>& info) { return info.param.name; });

TEST(BoundsTest, ASignalWithoutItsBoundIsNeverNearNorOnASide) {
  policy::SignalRule rule = ErrorRatioRule();
  rule.max.reset();
  EXPECT_FALSE(NearOrPastBound(rule, 1e9));
  EXPECT_EQ(SideOfBand(rule, 1e9), std::nullopt);
  EXPECT_FALSE(ViolatesBound(rule, 1e9));
}

}  // namespace
}  // namespace backstop::decision
