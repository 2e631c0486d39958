// NextChangeAt against the definition it stands for: deciding at every
// step. Random releases, thresholds and telemetry (arriving late, out of
// order, dated ahead); one timeline decides every 100 ms, the other only
// when telemetry arrived or NextChangeAt said an answer could change, and
// keeps its last answer otherwise. Their answers must agree at every step.
#include <algorithm>
#include <random>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "backstop/decision/evaluation_json.hpp"
#include "backstop/decision/next_change.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

using namespace test_support;

struct Arrival {
  TimePoint arrives;
  std::string source;
  bool canary = true;
  telemetry::Sample sample;
};

struct Scenario {
  policy::ThresholdSet thresholds;
  ReleaseFacts release;
  std::vector<Arrival> arrivals;
  bool sorted = true;  // as the window store hands series out; else newest first
};

Scenario RandomScenario(std::mt19937& rng) {
  const auto pick = [&](auto... options) {
    const std::vector<std::common_type_t<decltype(options)...>> v{options...};
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  const auto millis = [&](int lo, int hi) { return Millis(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  Scenario s;
  s.thresholds = Thresholds();
  s.thresholds.evaluation.window = pick(Millis(2000), Millis(3000));
  s.thresholds.evaluation.min_samples = pick(1, 3);
  s.thresholds.evaluation.max_staleness = pick(Millis(500), Millis(1500));
  s.thresholds.evaluation.breach_for = pick(Millis(0), Millis(700));
  s.thresholds.evaluation.duration = pick(Millis(6000), Millis(15000));
  s.thresholds.evaluation.flap_limit = 2;
  policy::SignalRule rule = ErrorRatioRule();
  if (pick(true, false)) rule.baseline = policy::BaselineRule{2.0, 0.01, pick(policy::StatTest::kNone, policy::StatTest::kMannWhitney), 0.95};
  s.thresholds.signals = {rule};
  s.sorted = pick(true, true, true, false);
  s.release = Release();
  s.release.started_at = Now() - millis(0, 2000);
  const std::vector<std::string> sources = pick(1, 2) == 1 ? std::vector<std::string>{"default"}
                                                            : std::vector<std::string>{"prom-a", "prom-b"};
  for (const auto& source : sources) {
    for (const bool canary : {true, false}) {
      const int count = std::uniform_int_distribution<int>(0, 14)(rng);
      for (int i = 0; i < count; ++i) {
        Arrival a;
        a.source = source;
        a.canary = canary;
        a.sample.at = Now() + millis(-3000, 18000);
        a.sample.value = pick(0.01, 0.04, 0.045, 0.06, 0.2);
        // Mostly a little after its time; sometimes dated ahead of its arrival.
        a.arrives = std::max(a.sample.at, Now()) + millis(0, 1000);
        if (pick(0, 0, 0, 1) == 1) a.arrives = std::max(Now(), a.sample.at - millis(0, 500));
        s.arrivals.push_back(a);
      }
    }
  }
  return s;
}

// What the window store would hand out at `t`: every arrived sample, each
// series sorted by time (or, to cover any order, newest first).
TelemetrySnapshot SnapshotAt(const Scenario& s, TimePoint t) {
  std::map<std::string, SeriesPair> by_source;
  for (const Arrival& a : s.arrivals) {
    if (a.arrives > t) continue;
    SeriesPair& p = by_source[a.source];
    p.signal = kSignal;
    p.source = a.source;
    (a.canary ? p.canary : p.baseline).push_back(a.sample);
  }
  TelemetrySnapshot out;
  const auto by_time = [](const telemetry::Sample& x, const telemetry::Sample& y) { return x.at < y.at; };
  for (auto& [source, p] : by_source) {
    std::stable_sort(p.canary.begin(), p.canary.end(), by_time);
    std::stable_sort(p.baseline.begin(), p.baseline.end(), by_time);
    if (!s.sorted) {
      std::reverse(p.canary.begin(), p.canary.end());
      std::reverse(p.baseline.begin(), p.baseline.end());
    }
    out.series.push_back(std::move(p));
  }
  return out;
}

bool ArrivedWithin(const Scenario& s, TimePoint after, TimePoint through) {
  return std::any_of(s.arrivals.begin(), s.arrivals.end(),
                     [&](const Arrival& a) { return a.arrives > after && a.arrives <= through; });
}

// The answer without the time it was computed at.
std::string Answer(const Decision& d) {
  boost::json::object evaluation = EvaluationToJson(d.evaluation);
  evaluation.erase("evaluated_at");
  boost::json::array reasons;
  for (auto r : d.reasons) reasons.emplace_back(ToString(r));
  return std::string(ToString(d.kind)) + " " + boost::json::serialize(reasons) + " " +
         boost::json::serialize(evaluation);
}

TEST(NextChangeTest, SkippingUntilTheNextChangeAnswersLikeDecidingEveryStep) {
  std::mt19937 rng(20261201);
  int skipped = 0, decided = 0;
  for (int n = 0; n < 300; ++n) {
    const Scenario s = RandomScenario(rng);
    EvaluationHistory every_history, skipping_history;
    Decision last;
    std::optional<TimePoint> last_at;
    TimePoint due = TimePoint::min();
    for (TimePoint t = Now(); t <= Now() + Millis(20000); t += Millis(100)) {
      const TelemetrySnapshot snapshot = SnapshotAt(s, t);
      const Decision every = Decide(s.release, s.thresholds, snapshot, Context(Mode::kNormal, 0, t), every_history);
      every_history = every.history;
      const bool arrived = !last_at || ArrivedWithin(s, *last_at, t);
      if (!arrived && t < due) {
        ++skipped;
      } else {
        ++decided;
        last = Decide(s.release, s.thresholds, snapshot, Context(Mode::kNormal, 0, t), skipping_history);
        skipping_history = last.history;
        due = NextChangeAt(s.release, s.thresholds, snapshot, last, t);
        EXPECT_GT(due, t);
      }
      last_at = t;
      ASSERT_EQ(Answer(every), Answer(last)) << "scenario " << n << " at +"
                                             << std::chrono::duration_cast<Millis>(t - Now()).count() << " ms";
    }
  }
  // Both paths were exercised.
  EXPECT_GT(skipped, 10000);
  EXPECT_GT(decided, 10000);
}

TEST(NextChangeTest, NamesEachKindOfTimeDrivenChange) {
  const policy::ThresholdSet t = Thresholds();  // window 5m, staleness 60s, duration 30m, breach_for 0
  const ReleaseFacts r = Release();            // started 10 min before Now()
  // Nothing but the duration: due when evaluation.duration has passed.
  {
    const TelemetrySnapshot none;
    const Decision d = Decide(r, t, none, Context(), {});
    EXPECT_EQ(NextChangeAt(r, t, none, d, Now()), r.started_at + t.evaluation.duration);
  }
  // One canary sample 10 s old: stale one tick after 60 s.
  {
    const TelemetrySnapshot one{{Series(kSignal, "default", {{Now() - Seconds(10), 0.01}})}};
    const Decision d = Decide(r, t, one, Context(), {});
    EXPECT_EQ(NextChangeAt(r, t, one, d, Now()), Now() + Seconds(50) + TimePoint::duration(1));
  }
  // A sample dated 2 s ahead: it enters then.
  {
    const TelemetrySnapshot ahead{{Series(kSignal, "default", Join(Samples(5, 0.01), {{Now() + Seconds(2), 0.01}}))}};
    const Decision d = Decide(r, t, ahead, Context(), {});
    EXPECT_EQ(NextChangeAt(r, t, ahead, d, Now()), Now() + Seconds(2));
  }
  // A breach held for breach_for 30 s: due when it has held that long.
  {
    policy::ThresholdSet slow = t;
    slow.evaluation.breach_for = Seconds(30);
    const TelemetrySnapshot bad{{Series(kSignal, "default", Samples(5, 0.2))}};
    const Decision d = Decide(r, slow, bad, Context(), {});
    EXPECT_EQ(d.kind, DecisionKind::kNone);
    EXPECT_EQ(NextChangeAt(r, slow, bad, d, Now()), Now() + Seconds(30));
  }
  // Two sources disagreeing (prom-b breaches, prom-a passes): the breach
  // has held for 40 s already, the conflict for 10 s; breach_for 30 s. Due
  // when the conflict has held for breach_for.
  {
    policy::ThresholdSet slow = t;
    slow.evaluation.breach_for = Seconds(30);
    const TelemetrySnapshot split{
        {Series(kSignal, "prom-a", Samples(5, 0.01)), Series(kSignal, "prom-b", Samples(5, 0.2))}};
    EvaluationHistory previous;
    previous.signals[{kSignal, "prom-b"}].breach_since = Now() - Seconds(40);
    previous.conflict_since[ReasonCode::kConflictSourceDisagreement] = Now() - Seconds(10);
    const Decision d = Decide(r, slow, split, Context(), previous);
    ASSERT_EQ(d.evaluation.conflicts, std::vector<ReasonCode>{ReasonCode::kConflictSourceDisagreement});
    EXPECT_EQ(NextChangeAt(r, slow, split, d, Now()), Now() + Seconds(20));
  }
}

}  // namespace
}  // namespace backstop::decision
