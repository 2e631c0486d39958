#include "backstop/decision/next_change.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <vector>

namespace backstop::decision {

namespace {

// The earliest of the candidate times strictly after `now`.
class Earliest {
 public:
  explicit Earliest(TimePoint now) : now_(now) {}
  void Consider(TimePoint t) {
    if (t > now_) best_ = std::min(best_, t);
  }
  TimePoint value() const { return best_; }

 private:
  TimePoint now_;
  TimePoint best_ = TimePoint::max();
};

bool ByTime(const telemetry::Sample& a, const telemetry::Sample& b) { return a.at < b.at; }

// Series come sorted by time from the window store, and a large one is
// evaluated often: then two binary searches find the next sample to enter
// and the next to leave. Any other order is scanned in full.
void ConsiderWindowEdges(const std::vector<telemetry::Sample>& samples, Millis window, TimePoint now,
                         Earliest& next) {
  if (std::is_sorted(samples.begin(), samples.end(), ByTime)) {
    const auto entering =
        std::partition_point(samples.begin(), samples.end(), [&](const telemetry::Sample& s) { return s.at <= now; });
    if (entering != samples.end()) next.Consider(entering->at);
    const auto leaving = std::partition_point(samples.begin(), samples.end(),
                                              [&](const telemetry::Sample& s) { return s.at + window <= now; });
    if (leaving != samples.end()) next.Consider(leaving->at + window);
    return;
  }
  for (const telemetry::Sample& s : samples) {
    next.Consider(s.at);
    next.Consider(s.at + window);
  }
}

std::optional<TimePoint> NewestAtOrBefore(const std::vector<telemetry::Sample>& samples, TimePoint now) {
  std::optional<TimePoint> newest;
  if (std::is_sorted(samples.begin(), samples.end(), ByTime)) {
    const auto after =
        std::partition_point(samples.begin(), samples.end(), [&](const telemetry::Sample& s) { return s.at <= now; });
    if (after != samples.begin()) newest = std::prev(after)->at;
    return newest;
  }
  for (const telemetry::Sample& s : samples) {
    if (s.at <= now && (!newest || s.at > *newest)) newest = s.at;
  }
  return newest;
}

}  // namespace

TimePoint NextChangeAt(const ReleaseFacts& release, const policy::ThresholdSet& thresholds,
                       const TelemetrySnapshot& telemetry, const Decision& decided, TimePoint now) {
  const policy::EvaluationRule& rules = thresholds.evaluation;
  Earliest next(now);
  next.Consider(release.started_at + rules.duration);  // `now >= started_at + duration`

  for (const SeriesPair& pair : telemetry.series) {
    // A sample counts in (now - window, now]: it enters at its time and is
    // out from `at + window` on. Both cohorts, every signal: a few spare
    // wake-ups are cheaper than a missed one.
    for (const auto* samples : {&pair.canary, &pair.baseline}) ConsiderWindowEdges(*samples, rules.window, now, next);
    // Stale when `now - newest > max_staleness`: one tick past the bound.
    if (const auto newest = NewestAtOrBefore(pair.canary, now)) {
      next.Consider(*newest + rules.max_staleness + TimePoint::duration(1));
    }
  }

  // A counted flip leaves the window with the canary sample it was read at
  // (flips are dated at sample times), so the samples above cover it.
  for (const auto& [key, history] : decided.history.signals) {
    if (history.breach_since) next.Consider(*history.breach_since + rules.breach_for);
  }
  for (const auto& [code, since] : decided.history.conflict_since) next.Consider(since + rules.breach_for);
  return next.value();
}

}  // namespace backstop::decision
