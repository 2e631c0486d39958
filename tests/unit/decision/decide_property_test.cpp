// A property test over the decision core (issue 16): whatever finite values
// the samples hold — ±1.7e308, the largest double, denormals, zeros, any bit
// pattern that is a finite double — Decide returns a decision whose numbers
// are finite and whose evidence is strict JSON. Cases come from a seeded
// generator, so a failure names a case that reproduces.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "backstop/decision/decide.hpp"
#include "backstop/decision/evaluation_json.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): test fixtures only

constexpr double kMax = std::numeric_limits<double>::max();
constexpr double kDenorm = std::numeric_limits<double>::denorm_min();

// Values where arithmetic goes wrong first.
const std::vector<double> kEdgeValues{0.0,     -0.0,     kDenorm, -kDenorm, 1e-310,  -1e-310,   1e-300,
                                      0.05,    1.0,      -1.0,    1e300,    -1e300,  1.7e308,   -1.7e308,
                                      kMax,    -kMax,    kMax / 2, 0.049999, 0.055,  1.797e308, -1.797e308};

class CaseGenerator {
 public:
  explicit CaseGenerator(std::uint64_t seed) : rng_(seed) {}

  double Value() {
    const auto pick = Uniform(0, 9);
    if (pick < 6) return kEdgeValues[Uniform(0, kEdgeValues.size() - 1)];
    if (pick < 8) {
      // Any finite double, by its bits.
      for (;;) {
        const std::uint64_t bits = rng_();
        double d = 0;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) return d;
      }
    }
    return std::uniform_real_distribution<double>(-1.0, 1.0)(rng_);
  }

  // A bound for the rule: ordinary or itself extreme.
  double Bound() {
    static const std::vector<double> bounds{0.05, 0.0, -1.0, 500.0, 1e-300, 1.7e308, -1.7e308, kMax, -kMax};
    return bounds[Uniform(0, bounds.size() - 1)];
  }

  policy::ThresholdSet Thresholds(bool breach_at_once) {
    policy::ThresholdSet t = test_support::Thresholds();
    t.evaluation.breach_for = breach_at_once ? Millis(0) : Seconds(30);
    t.signals.clear();
    const std::size_t signals = Uniform(1, 2);
    for (std::size_t i = 0; i < signals; ++i) {
      policy::SignalRule rule;
      rule.name = i == 0 ? kSignal : kLatency;
      rule.critical = i == 0 || Uniform(0, 1) == 1;
      rule.aggregate = static_cast<policy::AggregateKind>(Uniform(0, 2));
      rule.bad_when = Uniform(0, 1) == 0 ? policy::BadWhen::kAbove : policy::BadWhen::kBelow;
      (rule.bad_when == policy::BadWhen::kAbove ? rule.max : rule.min) = Bound();
      if (Uniform(0, 1) == 1) {
        policy::BaselineRule b;
        static const std::vector<double> ratios{1.01, 2.0, 1e300};
        static const std::vector<double> deltas{0.0, 0.01, 1e308};
        b.ratio = ratios[Uniform(0, ratios.size() - 1)];
        b.min_delta = deltas[Uniform(0, deltas.size() - 1)];
        b.test = Uniform(0, 1) == 0 ? policy::StatTest::kNone : policy::StatTest::kMannWhitney;
        b.confidence = 0.95;
        rule.baseline = b;
      }
      rule.sources_tolerance = Uniform(0, 1) == 0 ? 0.5 : 0.0;
      t.signals.push_back(rule);
    }
    return t;
  }

  std::vector<telemetry::Sample> SamplesEndingAt(TimePoint newest) {
    std::vector<telemetry::Sample> out;
    const std::size_t n = Uniform(0, 9);
    for (std::size_t i = 0; i < n; ++i) out.push_back({newest - Seconds(static_cast<long long>(i)), Value()});
    return out;
  }

  TelemetrySnapshot Snapshot(const policy::ThresholdSet& t, TimePoint now) {
    TelemetrySnapshot snapshot;
    for (const auto& rule : t.signals) {
      const std::size_t sources = Uniform(1, 3);
      for (std::size_t s = 0; s < sources; ++s) {
        snapshot.series.push_back(Series(rule.name, "source-" + std::to_string(s), SamplesEndingAt(now),
                                         SamplesEndingAt(now)));
      }
    }
    return snapshot;
  }

  ReleaseFacts Release() {
    ReleaseFacts r = test_support::Release();
    if (Uniform(0, 3) == 0) r.previous_version.reset();
    r.traffic_percent = Uniform(0, 1) == 0 ? 10.0 : 100.0;
    return r;
  }

  Mode AnyMode() { return static_cast<Mode>(Uniform(0, 2)); }

  std::size_t Uniform(std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_);
  }

 private:
  std::mt19937_64 rng_;
};

// Every number the evaluation carries is finite, and its JSON parses back
// with a strict parser (no Infinity, no NaN).
void ExpectFiniteAndJson(const Decision& d, const std::string& where) {
  for (const auto& s : d.evaluation.signals) {
    if (s.canary) {
      EXPECT_TRUE(std::isfinite(s.canary->value)) << where << " canary of " << s.name;
    }
    if (s.baseline) {
      EXPECT_TRUE(std::isfinite(s.baseline->value)) << where << " baseline of " << s.name;
    }
    if (s.p_value) {
      EXPECT_TRUE(std::isfinite(*s.p_value)) << where;
      EXPECT_GE(*s.p_value, 0.0) << where;
      EXPECT_LE(*s.p_value, 1.0) << where;
    }
  }
  const std::string text = boost::json::serialize(EvaluationToJson(d.evaluation));
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << where << ": evidence is not JSON: " << text;
}

bool CriticalBreach(const Evaluation& e) {
  for (const auto& s : e.signals) {
    if (s.critical && s.state == SignalState::kBreach) return true;
  }
  return false;
}

TEST(DecidePropertyTest, AnyFiniteSamplesGiveADecisionWithFiniteJsonEvidence) {
  constexpr int kCases = 3000;
  CaseGenerator gen(0x16'16'16'16);
  for (int c = 0; c < kCases; ++c) {
    const bool at_once = gen.Uniform(0, 1) == 1;
    const policy::ThresholdSet t = gen.Thresholds(at_once);
    Timeline timeline(t, gen.Release());
    // Two evaluations a few seconds apart, the second with the history of the
    // first, as the evaluator runs them.
    for (int step = 0; step < 2; ++step) {
      const TimePoint now = Now() + Seconds(5 * step);
      const std::string where = "case " + std::to_string(c) + " step " + std::to_string(step);
      const Decision d = timeline.Step(now, gen.Snapshot(t, now), gen.AnyMode());
      ExpectFiniteAndJson(d, where);
      // A critical breach that counts at once always decides something.
      if (at_once && CriticalBreach(d.evaluation)) {
        EXPECT_NE(d.kind, DecisionKind::kNone) << where;
      }
      if (::testing::Test::HasFailure()) return;  // one case is enough to read
    }
  }
}

// The defect of issue 16 by itself: every sample far past the bound, at any
// magnitude a double can hold, rolls back.
TEST(DecidePropertyTest, EveryFiniteValuePastTheBoundRollsBack) {
  for (double v : kEdgeValues) {
    if (!(v > 0.05)) continue;
    for (int n : {3, 5, 9}) {
      const TelemetrySnapshot snapshot{{Series(kSignal, "default", Samples(n, v))}};
      const Decision d = Decide(Release(), Thresholds(), snapshot, Context(), {});
      const std::string where = std::to_string(n) + " samples of " + std::to_string(v);
      EXPECT_EQ(d.kind, n >= 5 ? DecisionKind::kAutoRollback : DecisionKind::kNone) << where;
      ExpectFiniteAndJson(d, where);
    }
  }
}

TEST(EvaluationJsonTest, NonFiniteNumbersAreWrittenAsNull) {
  EXPECT_TRUE(JsonNumber(std::numeric_limits<double>::infinity()).is_null());
  EXPECT_TRUE(JsonNumber(-std::numeric_limits<double>::infinity()).is_null());
  EXPECT_TRUE(JsonNumber(std::numeric_limits<double>::quiet_NaN()).is_null());
  EXPECT_EQ(JsonNumber(5.0), boost::json::value(5));
  EXPECT_EQ(JsonNumber(1.7e308), boost::json::value(1.7e308));

  Evaluation e;
  SignalEvaluation s;
  s.name = kSignal;
  s.source = "default";
  s.canary = AggregateValue{std::numeric_limits<double>::infinity(), 3, Now()};
  s.p_value = std::numeric_limits<double>::quiet_NaN();
  e.signals.push_back(s);
  const std::string text = boost::json::serialize(EvaluationToJson(e));
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
}

}  // namespace
}  // namespace backstop::decision
