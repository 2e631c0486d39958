#include <gtest/gtest.h>

#include "backstop/decision/verification.hpp"

namespace backstop::decision {
namespace {

const TimePoint kNow = TimePoint(std::chrono::microseconds(1'800'000'000'000'000LL));

policy::ThresholdSet Set(Millis breach_for) {
  policy::ThresholdSet set;
  set.release_class = "c";
  set.version = 1;
  set.evaluation.window = Millis(300000);
  set.evaluation.min_samples = 3;
  set.evaluation.breach_for = breach_for;
  policy::SignalRule errors;
  errors.name = "errors";
  errors.max = 0.05;
  set.signals = {errors};
  return set;
}

TelemetrySnapshot Samples(double value, int n) {
  TelemetrySnapshot s;
  SeriesPair p{"errors", "default", {}, {}};
  for (int i = 0; i < n; ++i) p.canary.push_back({kNow - std::chrono::seconds(i), value});
  s.series.push_back(p);
  return s;
}

ReleaseFacts Restored() { return ReleaseFacts{"r", "svc", "prod", "v1", std::nullopt, 5, false, kNow}; }

TEST(VerifyRollbackTest, RestoredVersionStillBreachingIsIneffective) {
  auto r = VerifyRollback(Restored(), Set(Millis(0)), Samples(0.5, 5), kNow, std::nullopt);
  EXPECT_TRUE(r.ineffective);
}

TEST(VerifyRollbackTest, HealthyRestoredVersionIsFine) {
  auto r = VerifyRollback(Restored(), Set(Millis(0)), Samples(0.01, 5), kNow, std::nullopt);
  EXPECT_FALSE(r.ineffective);
  EXPECT_FALSE(r.breach_since.has_value());
}

TEST(VerifyRollbackTest, ThinDataIsNeverIneffective) {
  auto r = VerifyRollback(Restored(), Set(Millis(0)), Samples(0.9, 2), kNow, std::nullopt);
  EXPECT_FALSE(r.ineffective);
}

TEST(VerifyRollbackTest, BreachMustHoldForBreachFor) {
  const auto set = Set(Millis(30000));
  auto first = VerifyRollback(Restored(), set, Samples(0.5, 5), kNow, std::nullopt);
  EXPECT_FALSE(first.ineffective);
  ASSERT_TRUE(first.breach_since.has_value());
  auto later = VerifyRollback(Restored(), set, Samples(0.5, 5), kNow + std::chrono::seconds(30), first.breach_since);
  EXPECT_TRUE(later.ineffective);
}

}  // namespace
}  // namespace backstop::decision
