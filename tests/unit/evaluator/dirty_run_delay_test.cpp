// When the evaluator evaluates fresh telemetry after a Wake.
#include <gtest/gtest.h>

#include "backstop/evaluator/evaluation_scheduler.hpp"

namespace backstop::evaluator {
namespace {

using std::chrono::microseconds;
using Steady = std::chrono::steady_clock;

const Steady::time_point kNow = Steady::time_point{} + std::chrono::hours(1);

TEST(DirtyRunPacerTest, AfterAQuietSpellABurstRunsAtOnce) {
  DirtyRunPacer pacer(Millis(2), 2);
  EXPECT_EQ(pacer.DelayAt(kNow), Steady::duration::zero());
  pacer.Ran(kNow);
  // A breaching batch right behind a healthy one is not held back.
  EXPECT_EQ(pacer.DelayAt(kNow + microseconds(300)), Steady::duration::zero());
  pacer.Ran(kNow + microseconds(300));
  // The third in a row waits for the steady rate.
  EXPECT_EQ(pacer.DelayAt(kNow + microseconds(600)), microseconds(1400));
}

TEST(DirtyRunPacerTest, AStreamRunsOncePerGap) {
  DirtyRunPacer pacer(Millis(2), 2);
  Steady::time_point t = kNow;
  std::vector<Steady::time_point> runs;
  for (int i = 0; i < 12; ++i) {
    t += pacer.DelayAt(t);
    pacer.Ran(t);
    runs.push_back(t);
    t += microseconds(100);  // the next Wake comes while this run is under way
  }
  // Two at once, then one every 2 ms.
  EXPECT_EQ(runs[1] - runs[0], microseconds(100));
  for (std::size_t i = 3; i < runs.size(); ++i) EXPECT_EQ(runs[i] - runs[i - 1], Millis(2)) << i;
}

TEST(DirtyRunPacerTest, AQuietSpellRefillsTheBurst) {
  DirtyRunPacer pacer(Millis(2), 2);
  pacer.Ran(kNow);
  pacer.Ran(kNow);
  EXPECT_GT(pacer.DelayAt(kNow), Steady::duration::zero());
  EXPECT_EQ(pacer.DelayAt(kNow + Millis(4)), Steady::duration::zero());
  pacer.Ran(kNow + Millis(4));
  EXPECT_EQ(pacer.DelayAt(kNow + Millis(4)), Steady::duration::zero());
}

}  // namespace
}  // namespace backstop::evaluator
