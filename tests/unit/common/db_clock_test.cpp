#include <gtest/gtest.h>

#include "backstop/common/db_clock.hpp"

namespace backstop {
namespace {

TEST(DbClockTest, OffsetIsMeasuredAgainstTheMidpointOfTheRoundTrip) {
  DbClock clock;
  const TimePoint before = TimePoint(std::chrono::microseconds(1'000'000));
  const TimePoint after = before + std::chrono::microseconds(2'000);
  clock.Observe(before + std::chrono::microseconds(5'001'000), before, after);  // db 5 s ahead
  EXPECT_EQ(clock.offset_us(), 5'000'000);
}

TEST(DbClockTest, NowFollowsTheOffset) {
  DbClock clock;
  const TimePoint local = NowMicros();
  clock.Observe(local - std::chrono::seconds(30), local, local);
  const auto diff = NowMicros() - clock.Now();
  EXPECT_GE(diff, std::chrono::seconds(29));
  EXPECT_LE(diff, std::chrono::seconds(31));
}

TEST(DbClockTest, ASmallStepBackOfTheOffsetDoesNotMoveNowBackwards) {
  DbClock clock;
  const TimePoint local = NowMicros();
  clock.Observe(local + std::chrono::milliseconds(500), local, local);
  const TimePoint before = clock.Now();
  clock.Observe(local + std::chrono::milliseconds(400), local, local);  // re-measured 100 ms lower
  EXPECT_GE(clock.Now(), before);
}

TEST(DbClockTest, ALargeCorrectionBackwardsIsTaken) {
  DbClock clock;
  const TimePoint first = clock.Now();
  const TimePoint local = NowMicros();
  clock.Observe(local - std::chrono::seconds(30), local, local);
  EXPECT_LE(clock.Now(), first - std::chrono::seconds(29));
}

}  // namespace
}  // namespace backstop
