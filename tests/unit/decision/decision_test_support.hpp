#pragma once

// Fixtures shared by the decision unit tests: a threshold set, a release and
// samples laid out relative to one fixed `now` (no real clock anywhere).

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/role.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/bounds.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/decision/evaluate.hpp"
#include "backstop/decision/reason_code.hpp"
#include "backstop/policy/threshold_set.hpp"
#include "backstop/telemetry/sample.hpp"

namespace backstop::decision {

// Readable GoogleTest failure messages (found by argument-dependent lookup).
inline void PrintTo(ReasonCode c, std::ostream* os) { *os << ToString(c); }
inline void PrintTo(SignalState s, std::ostream* os) { *os << ToString(s); }
inline void PrintTo(Verdict v, std::ostream* os) { *os << ToString(v); }
inline void PrintTo(DecisionKind k, std::ostream* os) { *os << ToString(k); }
inline void PrintTo(BoundSide s, std::ostream* os) { *os << (s == BoundSide::kPast ? "past" : "clear"); }

namespace test_support {

inline constexpr const char* kSignal = "http_5xx_ratio";
inline constexpr const char* kLatency = "latency_p99_ms";

inline Millis Seconds(long long s) { return Millis(s * 1000); }
inline Millis Minutes(long long m) { return Millis(m * 60 * 1000); }

// The fixed evaluation time of every test.
inline TimePoint Now() { return *ParseRfc3339("2026-11-22T10:00:00Z"); }

// http_5xx_ratio: critical, mean, above, max 0.05, no baseline rule.
inline policy::SignalRule ErrorRatioRule() {
  policy::SignalRule rule;
  rule.name = kSignal;
  rule.critical = true;
  rule.aggregate = policy::AggregateKind::kMean;
  rule.bad_when = policy::BadWhen::kAbove;
  rule.max = 0.05;
  rule.sources_tolerance = 0.5;
  return rule;
}

inline policy::SignalRule LatencyRule() {
  policy::SignalRule rule;
  rule.name = kLatency;
  rule.critical = true;
  rule.aggregate = policy::AggregateKind::kMean;
  rule.bad_when = policy::BadWhen::kAbove;
  rule.max = 500.0;
  return rule;
}

// A reversible class allowed to roll back by itself, with small numbers so
// fixtures stay short: window 5m, min_samples 5, max_staleness 60s,
// breach_for 0s, duration 30m, flap_limit 3, traffic <= 25 %, budget 5.
inline policy::ThresholdSet Thresholds() {
  policy::ThresholdSet t;
  t.release_class = "stateless-service";
  t.version = 3;
  t.reversibility = policy::Reversibility::kReversibleWithState;
  t.automation = policy::Automation::kAuto;
  t.max_traffic_percent = 25;
  t.allow_shared_infrastructure = false;
  t.max_auto_rollbacks = 5;
  t.budget_per = Minutes(60);
  t.evaluation.window = Minutes(5);
  t.evaluation.min_samples = 5;
  t.evaluation.max_staleness = Seconds(60);
  t.evaluation.breach_for = Millis(0);
  t.evaluation.duration = Minutes(30);
  t.evaluation.flap_limit = 3;
  t.signals = {ErrorRatioRule()};
  return t;
}

// `count` samples of `value`, the newest at `newest`, one every `spacing`
// going back in time.
inline std::vector<telemetry::Sample> Samples(int count, double value, TimePoint newest = Now(),
                                              Millis spacing = Seconds(1)) {
  std::vector<telemetry::Sample> out;
  for (int i = 0; i < count; ++i) out.push_back({newest - i * spacing, value});
  return out;
}

inline std::vector<telemetry::Sample> Join(std::vector<telemetry::Sample> a, const std::vector<telemetry::Sample>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline SeriesPair Series(std::string signal, std::string source, std::vector<telemetry::Sample> canary,
                         std::vector<telemetry::Sample> baseline = {}) {
  return SeriesPair{std::move(signal), std::move(source), std::move(canary), std::move(baseline)};
}

// One default-source series of http_5xx_ratio: five samples of `value`
// ending at `now`.
inline TelemetrySnapshot ErrorRatio(double value, TimePoint now = Now()) {
  return TelemetrySnapshot{{Series(kSignal, "default", Samples(5, value, now))}};
}

// checkout v2 replacing v1 in prod on 10 % of traffic, started 10 minutes
// before Now() (well inside the 30-minute duration).
inline ReleaseFacts Release() {
  ReleaseFacts r;
  r.id = "rel-1";
  r.service = "checkout";
  r.environment = "prod";
  r.version = "v2";
  r.previous_version = "v1";
  r.traffic_percent = 10;
  r.shared_infrastructure = false;
  r.started_at = Now() - Minutes(10);
  return r;
}

inline DecisionContext Context(Mode mode = Mode::kNormal, int auto_rollbacks_in_window = 0, TimePoint now = Now()) {
  return DecisionContext{now, mode, auto_rollbacks_in_window};
}

// Successive evaluations of one release, feeding each decision's history
// into the next, as the evaluator does.
class Timeline {
 public:
  Timeline(policy::ThresholdSet thresholds, ReleaseFacts release)
      : thresholds_(std::move(thresholds)), release_(std::move(release)) {}

  Decision Step(TimePoint now, const TelemetrySnapshot& snapshot, Mode mode = Mode::kNormal) {
    Decision d = Decide(release_, thresholds_, snapshot, Context(mode, 0, now), history_);
    history_ = d.history;
    return d;
  }

  // Five samples of `value` ending at `now`.
  Decision Step(TimePoint now, double value) { return Step(now, ErrorRatio(value, now)); }

  const EvaluationHistory& history() const { return history_; }

 private:
  policy::ThresholdSet thresholds_;
  ReleaseFacts release_;
  EvaluationHistory history_;
};

}  // namespace test_support
}  // namespace backstop::decision
