// When the evaluator evaluates fresh telemetry after a Wake.
#include <gtest/gtest.h>

#include "backstop/evaluator/evaluation_scheduler.hpp"

namespace backstop::evaluator {
namespace {

using std::chrono::microseconds;
using Steady = std::chrono::steady_clock;

const Steady::time_point kNow = Steady::time_point{} + std::chrono::hours(1);

TEST(DirtyRunDelayTest, TheFirstRunWaitsForNothing) {
  EXPECT_EQ(DelayBeforeDirtyRun(kNow, std::nullopt, Millis(2)), Steady::duration::zero());
}

TEST(DirtyRunDelayTest, ARunAtLeastTheGapAfterTheLastWaitsForNothing) {
  EXPECT_EQ(DelayBeforeDirtyRun(kNow, kNow - Millis(2), Millis(2)), Steady::duration::zero());
  EXPECT_EQ(DelayBeforeDirtyRun(kNow, kNow - Millis(500), Millis(2)), Steady::duration::zero());
}

TEST(DirtyRunDelayTest, ARunWithinTheGapWaitsForTheRestOfIt) {
  EXPECT_EQ(DelayBeforeDirtyRun(kNow, kNow - microseconds(500), Millis(2)), microseconds(1500));
  EXPECT_EQ(DelayBeforeDirtyRun(kNow, kNow, Millis(2)), Millis(2));
}

}  // namespace
}  // namespace backstop::evaluator
