// ReleaseTracker's quiet releases: a tick skips one only while nothing the
// last evaluation read has changed. (No database: the tracker lives in the
// service library, so its tests are here.)
#include <gtest/gtest.h>

#include "backstop/common/time_format.hpp"
#include "backstop/evaluator/release_tracker.hpp"

namespace backstop::evaluator {
namespace {

const TimePoint kNow = *ParseRfc3339("2026-12-01T10:00:00Z");
constexpr Millis kRetention{360000};

store::Release Evaluating() {
  store::Release r;
  r.id = "rel-1";
  r.service = "checkout";
  r.environment = "prod";
  r.version = "v2";
  r.previous_version = "v1";
  r.release_class = "web";
  r.thresholds_version = 1;
  r.traffic_percent = 10;
  r.started_at = kNow - Millis(60000);
  return r;
}

// A tracker holding rel-1, evaluated once and quiet until kNow + 5 s.
class QuietTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tracker.Upsert(Evaluating());
    auto tracked = tracker.Checkout("rel-1");
    ASSERT_TRUE(tracked.has_value());
    decision::Evaluation evaluation;
    evaluation.evaluated_at = kNow;
    tracker.RecordEvaluation("rel-1", std::move(evaluation), {},
                             ReleaseTracker::Quiet{kNow + Millis(5000), tracked->inputs_seq, Mode::kNormal, kRetention});
  }
  ReleaseTracker tracker;
};

TEST_F(QuietTest, StandsUntilItsTimeAndIsMarkedEvaluatedThen) {
  EXPECT_TRUE(tracker.StillQuiet("rel-1", kNow + Millis(4999), Mode::kNormal, kRetention));
  EXPECT_EQ(tracker.Latest("rel-1")->evaluated_at, kNow + Millis(4999));
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(5000), Mode::kNormal, kRetention));
}

TEST_F(QuietTest, TelemetryForTheReleaseEndsIt) {
  tracker.MarkTouched({{"checkout", "prod"}}, std::chrono::steady_clock::now());
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention));
}

TEST_F(QuietTest, TelemetryForAnotherServiceLeavesIt) {
  tracker.MarkTouched({{"search", "prod"}}, std::chrono::steady_clock::now());
  EXPECT_TRUE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention));
}

TEST_F(QuietTest, AnotherModeOrRetentionEndsIt) {
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kFreeze, kRetention));
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention + Millis(1)));
}

TEST_F(QuietTest, AChangedRowEndsItAnUnchangedOneDoesNot) {
  const auto read_started = std::chrono::steady_clock::now();
  tracker.Sync({Evaluating()}, {}, read_started);
  EXPECT_TRUE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention));
  store::Release more_traffic = Evaluating();
  more_traffic.traffic_percent = 50;
  tracker.Sync({more_traffic}, {}, read_started);
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention));
}

TEST_F(QuietTest, AnEscalationNowPendingEndsIt) {
  tracker.Sync({Evaluating()}, {"rel-1"}, std::chrono::steady_clock::now());
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention));
}

TEST_F(QuietTest, AChangeBetweenCheckoutAndRecordKeepsTheReleaseFromGoingQuiet) {
  auto tracked = tracker.Checkout("rel-1");
  ASSERT_TRUE(tracked.has_value());
  tracker.MarkTouched({{"checkout", "prod"}}, std::chrono::steady_clock::now());  // arrives meanwhile
  tracker.RecordEvaluation("rel-1", decision::Evaluation{}, {},
                           ReleaseTracker::Quiet{kNow + Millis(5000), tracked->inputs_seq, Mode::kNormal, kRetention});
  EXPECT_FALSE(tracker.StillQuiet("rel-1", kNow + Millis(1), Mode::kNormal, kRetention));
}

}  // namespace
}  // namespace backstop::evaluator
