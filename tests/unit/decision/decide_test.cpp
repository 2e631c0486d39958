#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "backstop/decision/decide.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): test fixtures only

using Reasons = std::vector<ReasonCode>;

Decision DecideNow(const TelemetrySnapshot& snapshot, const policy::ThresholdSet& thresholds = Thresholds(),
                   const ReleaseFacts& release = Release(), const DecisionContext& context = Context(),
                   const EvaluationHistory& previous = {}) {
  return Decide(release, thresholds, snapshot, context, previous);
}

policy::ThresholdSet WithBreachFor(Millis breach_for) {
  policy::ThresholdSet t = Thresholds();
  t.evaluation.breach_for = breach_for;
  return t;
}

policy::ThresholdSet WithLatency() {
  policy::ThresholdSet t = Thresholds();
  t.signals.push_back(LatencyRule());
  return t;
}

ReleaseFacts StartedAgo(Millis ago) {
  ReleaseFacts r = Release();
  r.started_at = Now() - ago;
  return r;
}

// Two sources of http_5xx_ratio, "app" and "prometheus", five samples each
// ending at `at`.
TelemetrySnapshot TwoSources(double app, double prometheus, TimePoint at = Now()) {
  return TelemetrySnapshot{
      {Series(kSignal, "app", Samples(5, app, at)), Series(kSignal, "prometheus", Samples(5, prometheus, at))}};
}

// ---- the auto-rollback ------------------------------------------------------

TEST(DecideTest, AutoRollsBackOnACountedBreachWithNothingInTheWay) {
  const Decision d = DecideNow(ErrorRatio(0.2));
  EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach}));
  EXPECT_EQ(d.proposed, ProposedActionType::kRollback);
  EXPECT_EQ(d.evaluation.verdict, Verdict::kBreach);
  EXPECT_EQ(d.evaluation.evaluated_at, Now());
  EXPECT_TRUE(d.evaluation.conflicts.empty());
  ASSERT_EQ(d.evaluation.signals.size(), 1u);
  EXPECT_EQ(d.evaluation.signals[0].state, SignalState::kBreach);
}

TEST(DecideTest, PassingSignalsBeforeDurationDecideNothing) {
  const Decision d = DecideNow(ErrorRatio(0.01));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_TRUE(d.reasons.empty());
  EXPECT_EQ(d.evaluation.verdict, Verdict::kPass);
}

TEST(DecideTest, TrafficExactlyAtTheLimitStillAutoRollsBack) {
  ReleaseFacts r = Release();
  r.traffic_percent = 25;
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), Thresholds(), r).kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, BudgetOneShortOfTheMaximumStillAutoRollsBack) {
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), Thresholds(), Release(), Context(Mode::kNormal, 4)).kind,
            DecisionKind::kAutoRollback);
}

TEST(DecideTest, SharedInfrastructureAutoRollsBackWhenTheClassAllowsIt) {
  policy::ThresholdSet t = Thresholds();
  t.allow_shared_infrastructure = true;
  ReleaseFacts r = Release();
  r.shared_infrastructure = true;
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), t, r).kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, AZeroBudgetNeverAutoRollsBack) {
  policy::ThresholdSet t = Thresholds();
  t.max_auto_rollbacks = 0;
  const Decision d = DecideNow(ErrorRatio(0.2), t);
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kBudgetExhausted}));
}

// ---- the reason matrix: each condition alone turns the rollback into an
// escalation carrying signal.breach and that condition's code -------------------

struct ReasonCase {
  std::string name;
  std::function<void(policy::ThresholdSet&, ReleaseFacts&, DecisionContext&, TelemetrySnapshot&, EvaluationHistory&)>
      change;
  ReasonCode expected;
};

void PrintTo(const ReasonCase& c, std::ostream* os) { *os << c.name; }

class DecideReasonTest : public ::testing::TestWithParam<ReasonCase> {};

TEST_P(DecideReasonTest, EscalatesWithSignalBreachAndTheConditionsCode) {
  policy::ThresholdSet thresholds = Thresholds();
  ReleaseFacts release = Release();
  DecisionContext context = Context();
  TelemetrySnapshot snapshot = ErrorRatio(0.2);
  EvaluationHistory previous;
  GetParam().change(thresholds, release, context, snapshot, previous);

  const Decision d = Decide(release, thresholds, snapshot, context, previous);
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, GetParam().expected}));
}

INSTANTIATE_TEST_SUITE_P(
    EveryReason, DecideReasonTest,
    ::testing::Values(
        ReasonCase{"ApprovalClass",
                   [](auto& t, auto&, auto&, auto&, auto&) { t.automation = policy::Automation::kApproval; },
                   ReasonCode::kPolicyApprovalRequired},
        ReasonCase{"DualApprovalClass",
                   [](auto& t, auto&, auto&, auto&, auto&) { t.automation = policy::Automation::kDualApproval; },
                   ReasonCode::kPolicyDualApprovalRequired},
        ReasonCase{"TrafficOneOverTheLimit", [](auto&, auto& r, auto&, auto&, auto&) { r.traffic_percent = 26; },
                   ReasonCode::kBlastRadiusTrafficExceedsLimit},
        ReasonCase{"SharedInfrastructure", [](auto&, auto& r, auto&, auto&, auto&) { r.shared_infrastructure = true; },
                   ReasonCode::kBlastRadiusSharedInfrastructure},
        ReasonCase{"BudgetExactlyUsedUp", [](auto&, auto&, auto& c, auto&, auto&) { c.auto_rollbacks_in_window = 5; },
                   ReasonCode::kBudgetExhausted},
        ReasonCase{"BudgetOverUsed", [](auto&, auto&, auto& c, auto&, auto&) { c.auto_rollbacks_in_window = 9; },
                   ReasonCode::kBudgetExhausted},
        ReasonCase{"NoPreviousVersion", [](auto&, auto& r, auto&, auto&, auto&) { r.previous_version.reset(); },
                   ReasonCode::kTargetUnknown},
        ReasonCase{"BaselineDegraded",
                   [](auto&, auto&, auto&, auto& s, auto&) {
                     s.series[0].baseline = Samples(5, 0.08);
                   },
                   ReasonCode::kConflictBaselineDegraded},
        ReasonCase{"SourcesDisagree",
                   [](auto&, auto&, auto&, auto& s, auto&) {
                     s.series.push_back(Series(kSignal, "prometheus", Samples(5, 0.01)));
                   },
                   ReasonCode::kConflictSourceDisagreement},
        ReasonCase{"Flapping",
                   [](auto&, auto&, auto&, auto&, auto& h) {
                     SignalHistory flapping;
                     flapping.side = BoundSide::kPast;
                     flapping.examined_through = Now() - Seconds(5);
                     flapping.breach_since = Now() - Seconds(5);
                     flapping.flips = {Now() - Seconds(40), Now() - Seconds(30), Now() - Seconds(20),
                                       Now() - Seconds(10)};
                     h.signals[{kSignal, "default"}] = flapping;
                   },
                   ReasonCode::kConflictFlapping},
        ReasonCase{"AnotherCriticalSignalInsufficient",
                   [](auto& t, auto&, auto&, auto& s, auto&) {
                     t.signals.push_back(LatencyRule());
                     s.series.push_back(Series(kLatency, "default", Samples(4, 100.0)));
                   },
                   ReasonCode::kTelemetryInsufficient},
        ReasonCase{"AnotherCriticalSignalWithoutSamples",
                   [](auto& t, auto&, auto&, auto&, auto&) { t.signals.push_back(LatencyRule()); },
                   ReasonCode::kTelemetryInsufficient},
        ReasonCase{"AnotherCriticalSignalStale",
                   [](auto& t, auto&, auto&, auto& s, auto&) {
                     t.signals.push_back(LatencyRule());
                     s.series.push_back(Series(kLatency, "default", Samples(5, 100.0, Now() - Seconds(61))));
                   },
                   ReasonCode::kTelemetryStale},
        ReasonCase{"Frozen", [](auto&, auto&, auto& c, auto&, auto&) { c.mode = Mode::kFreeze; },
                   ReasonCode::kModeFreeze}),
    [](const ::testing::TestParamInfo<ReasonCase>& info) { return info.param.name; });

TEST(DecideTest, EscalatesWithEveryApplicableReasonAtOnceInEnumOrder) {
  policy::ThresholdSet t = WithLatency();
  t.automation = policy::Automation::kDualApproval;
  ReleaseFacts r = Release();
  r.traffic_percent = 50;
  r.shared_infrastructure = true;
  r.previous_version.reset();
  TelemetrySnapshot s = TwoSources(0.2, 0.01);
  s.series.push_back(Series(kLatency, "default", Samples(2, 100.0)));
  s.series.push_back(Series(kLatency, "canary-probe", Samples(5, 100.0, Now() - Minutes(2))));
  const Decision d = DecideNow(s, t, r, Context(Mode::kFreeze, 5));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kPolicyDualApprovalRequired,
                                ReasonCode::kBlastRadiusTrafficExceedsLimit,
                                ReasonCode::kBlastRadiusSharedInfrastructure, ReasonCode::kBudgetExhausted,
                                ReasonCode::kTargetUnknown, ReasonCode::kConflictSourceDisagreement,
                                ReasonCode::kTelemetryInsufficient, ReasonCode::kTelemetryStale,
                                ReasonCode::kModeFreeze}));
}

TEST(DecideTest, ReasonsHaveNoDuplicatesWhenSeveralSignalsShareOne) {
  policy::ThresholdSet t = WithLatency();
  policy::SignalRule third = LatencyRule();
  third.name = "saturation";
  t.signals.push_back(third);
  // Both latency and saturation lack samples; http_5xx_ratio breaches on two sources.
  TelemetrySnapshot s = TwoSources(0.2, 0.3);
  const Decision d = DecideNow(s, t);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kTelemetryInsufficient}));
}

// ---- conflicts ----------------------------------------------------------------

TEST(DecideTest, EscalatesWhenBaselineDegraded) {
  TelemetrySnapshot s{{Series(kSignal, "default", Samples(5, 0.10), Samples(5, 0.08))}};
  const Decision d = DecideNow(s);
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kConflictBaselineDegraded}));
  EXPECT_EQ(d.evaluation.verdict, Verdict::kConflict);
  EXPECT_EQ(d.evaluation.conflicts, (Reasons{ReasonCode::kConflictBaselineDegraded}));
}

TEST(DecideTest, ABaselineWithTooFewSamplesCannotBeDegraded) {
  TelemetrySnapshot s{{Series(kSignal, "default", Samples(5, 0.10), Samples(4, 0.08))}};
  const Decision d = DecideNow(s);
  EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
  EXPECT_TRUE(d.evaluation.conflicts.empty());
}

TEST(DecideTest, EscalatesWhenSourcesDisagreeBeyondTolerance) {
  const Decision d = DecideNow(TwoSources(0.10, 0.01));  // |0.09| / 0.10 = 0.9 > 0.5
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kConflictSourceDisagreement}));
  EXPECT_EQ(d.evaluation.verdict, Verdict::kConflict);
}

TEST(DecideTest, SourcesWithinToleranceDoNotDisagree) {
  const Decision d = DecideNow(TwoSources(0.06, 0.045));  // 0.015 / 0.06 = 0.25 <= 0.5
  EXPECT_TRUE(d.evaluation.conflicts.empty());
  EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, AnInsufficientSourceHasNoSayInDisagreement) {
  TelemetrySnapshot s{{Series(kSignal, "app", Samples(5, 0.2)), Series(kSignal, "prometheus", Samples(2, 0.0))}};
  const Decision d = DecideNow(s);
  EXPECT_TRUE(d.evaluation.conflicts.empty());
  // ... but it is a critical signal that is insufficient, so no auto-rollback.
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kTelemetryInsufficient}));
}

TEST(DecideTest, NeverAutoRollsBackOnAConflictThatHasNotCountedYet) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(1);
  // The app source breaches alone from t0 ...
  timeline.Step(t0, TelemetrySnapshot{{Series(kSignal, "app", Samples(5, 0.2, t0))}});
  // ... and at t0 + 30 s, when its breach counts, a passing source appears.
  const Decision d = timeline.Step(t0 + Seconds(30), TwoSources(0.2, 0.01, t0 + Seconds(30)));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kConflictSourceDisagreement}));
}

TEST(DecideTest, AConflictEscalatesOnlyOnceItHasHeldForBreachFor) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(1);
  Decision d = timeline.Step(t0, TwoSources(0.2, 0.01, t0));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_EQ(d.evaluation.verdict, Verdict::kConflict);
  EXPECT_EQ(timeline.history().conflict_since.at(ReasonCode::kConflictSourceDisagreement), t0);
  d = timeline.Step(t0 + Seconds(29), TwoSources(0.2, 0.01, t0 + Seconds(29)));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  d = timeline.Step(t0 + Seconds(30), TwoSources(0.2, 0.01, t0 + Seconds(30)));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kConflictSourceDisagreement}));
}

TEST(DecideTest, AConflictThatClearsStartsItsClockAgain) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(2);
  timeline.Step(t0, TwoSources(0.2, 0.01, t0));
  const Decision agree = timeline.Step(t0 + Seconds(20), TwoSources(0.01, 0.01, t0 + Seconds(20)));
  EXPECT_TRUE(agree.history.conflict_since.empty());
  timeline.Step(t0 + Seconds(25), TwoSources(0.2, 0.01, t0 + Seconds(25)));
  EXPECT_EQ(timeline.Step(t0 + Seconds(50), TwoSources(0.2, 0.01, t0 + Seconds(50))).kind, DecisionKind::kNone);
  EXPECT_EQ(timeline.Step(t0 + Seconds(55), TwoSources(0.2, 0.01, t0 + Seconds(55))).kind, DecisionKind::kEscalate);
}

TEST(DecideTest, AConflictEscalatesEvenWithoutACountedBreach) {
  // flap_limit 1, breach_for 30 s: B, P, B makes 2 flips (flapping from t0+20),
  // then the signal passes; 30 s after the conflict started it escalates on
  // flapping alone.
  policy::ThresholdSet t = WithBreachFor(Seconds(30));
  t.evaluation.flap_limit = 1;
  Timeline timeline(t, Release());
  const TimePoint t0 = Now() - Minutes(1);
  timeline.Step(t0, 0.2);
  timeline.Step(t0 + Seconds(10), 0.01);
  Decision d = timeline.Step(t0 + Seconds(20), 0.2);
  EXPECT_EQ(d.evaluation.conflicts, (Reasons{ReasonCode::kConflictFlapping}));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  d = timeline.Step(t0 + Seconds(30), 0.01);
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  d = timeline.Step(t0 + Seconds(50), 0.01);
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kConflictFlapping}));
  EXPECT_EQ(d.evaluation.verdict, Verdict::kConflict);
}

TEST(DecideTest, ExactlyFlapLimitFlipsIsNotFlapping) {
  Timeline timeline(Thresholds(), Release());  // flap_limit 3, breach_for 0
  const TimePoint t0 = Now() - Minutes(1);
  timeline.Step(t0, 0.01);
  timeline.Step(t0 + Seconds(10), 0.2);
  timeline.Step(t0 + Seconds(20), 0.01);
  const Decision d = timeline.Step(t0 + Seconds(30), 0.2);  // 3 flips
  EXPECT_EQ(d.history.signals.at({kSignal, "default"}).flips.size(), 3u);
  EXPECT_TRUE(d.evaluation.conflicts.empty());
  EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, OneFlipMoreThanFlapLimitIsFlapping) {
  Timeline timeline(Thresholds(), Release());
  const TimePoint t0 = Now() - Minutes(1);
  timeline.Step(t0, 0.01);
  timeline.Step(t0 + Seconds(10), 0.2);
  timeline.Step(t0 + Seconds(20), 0.01);
  timeline.Step(t0 + Seconds(30), 0.2);
  const Decision pass = timeline.Step(t0 + Seconds(40), 0.01);  // 4 flips, currently passing
  EXPECT_EQ(pass.evaluation.conflicts, (Reasons{ReasonCode::kConflictFlapping}));
  EXPECT_EQ(pass.kind, DecisionKind::kEscalate);
  EXPECT_EQ(pass.reasons, (Reasons{ReasonCode::kConflictFlapping}));
  const Decision breach = timeline.Step(t0 + Seconds(50), 0.2);  // 5 flips, breaching
  EXPECT_EQ(breach.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kConflictFlapping}));
}

TEST(DecideTest, FlipsOlderThanTheWindowAreForgotten) {
  Timeline timeline(Thresholds(), Release());
  const TimePoint t0 = Now() - Minutes(10);
  timeline.Step(t0, 0.01);
  timeline.Step(t0 + Seconds(10), 0.2);   // flip 1
  timeline.Step(t0 + Seconds(20), 0.01);  // flip 2
  timeline.Step(t0 + Seconds(30), 0.2);   // flip 3
  timeline.Step(t0 + Seconds(40), 0.01);  // flip 4: flapping
  // Exactly one window after flip 1, it is out: three flips remain.
  const Decision d = timeline.Step(t0 + Seconds(10) + Minutes(5), 0.01);
  EXPECT_EQ(d.history.signals.at({kSignal, "default"}).flips.size(), 3u);
  EXPECT_TRUE(d.evaluation.conflicts.empty());
  EXPECT_EQ(d.kind, DecisionKind::kNone);
}

TEST(DecideTest, InsufficientAndStaleAreNotFlips) {
  Timeline timeline(Thresholds(), Release());
  const TimePoint t0 = Now() - Minutes(2);
  timeline.Step(t0, 0.2);
  timeline.Step(t0 + Seconds(10), TelemetrySnapshot{{Series(kSignal, "default", Samples(2, 0.01, t0 + Seconds(10)))}});
  timeline.Step(t0 + Seconds(20), TelemetrySnapshot{{Series(kSignal, "default", Samples(5, 0.01, t0 - Seconds(60)))}});
  const Decision d = timeline.Step(t0 + Seconds(30), 0.01);
  EXPECT_EQ(d.history.signals.at({kSignal, "default"}).flips, (std::vector<TimePoint>{t0 + Seconds(30)}));
}

// ---- breach_for ---------------------------------------------------------------

TEST(DecideTest, ABreachCountsOnlyOnceItHasHeldForBreachFor) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(1);
  Decision d = timeline.Step(t0, 0.2);
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_EQ(d.evaluation.verdict, Verdict::kBreach);
  EXPECT_EQ(d.history.signals.at({kSignal, "default"}).breach_since, t0);
  EXPECT_EQ(timeline.Step(t0 + Seconds(29), 0.2).kind, DecisionKind::kNone);
  d = timeline.Step(t0 + Seconds(30), 0.2);
  EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach}));
}

TEST(DecideTest, BreachForZeroCountsAtOnce) {
  Timeline timeline(WithBreachFor(Millis(0)), Release());
  EXPECT_EQ(timeline.Step(Now(), 0.2).kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, APassBreaksTheBreachAndItsClockStartsAgain) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(2);
  timeline.Step(t0, 0.2);
  timeline.Step(t0 + Seconds(20), 0.01);
  EXPECT_FALSE(timeline.history().signals.at({kSignal, "default"}).breach_since.has_value());
  timeline.Step(t0 + Seconds(25), 0.2);
  EXPECT_EQ(timeline.Step(t0 + Seconds(50), 0.2).kind, DecisionKind::kNone);  // 25 s since it resumed
  EXPECT_EQ(timeline.Step(t0 + Seconds(55), 0.2).kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, AnUnobservedBreachDoesNotHoldThroughInsufficientData) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(2);
  timeline.Step(t0, 0.2);
  timeline.Step(t0 + Seconds(10), TelemetrySnapshot{{Series(kSignal, "default", Samples(2, 0.2, t0 + Seconds(10)))}});
  timeline.Step(t0 + Seconds(20), 0.2);
  EXPECT_EQ(timeline.Step(t0 + Seconds(40), 0.2).kind, DecisionKind::kNone);  // would count from t0
  EXPECT_EQ(timeline.Step(t0 + Seconds(50), 0.2).kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, AnUnobservedBreachDoesNotHoldThroughStaleData) {
  Timeline timeline(WithBreachFor(Seconds(30)), Release());
  const TimePoint t0 = Now() - Minutes(5);
  timeline.Step(t0, 0.2);
  timeline.Step(t0 + Seconds(70), TelemetrySnapshot{{Series(kSignal, "default", Samples(5, 0.2, t0))}});
  EXPECT_FALSE(timeline.history().signals.at({kSignal, "default"}).breach_since.has_value());
  timeline.Step(t0 + Seconds(80), 0.2);
  EXPECT_EQ(timeline.Step(t0 + Seconds(100), 0.2).kind, DecisionKind::kNone);
  EXPECT_EQ(timeline.Step(t0 + Seconds(110), 0.2).kind, DecisionKind::kAutoRollback);
}

TEST(DecideTest, ReturnsTheHistoryOfEveryEvaluatedSignalAndSource) {
  EvaluationHistory previous;
  previous.signals[{"retired_signal", "default"}] = SignalHistory{};
  const Decision d = DecideNow(TwoSources(0.01, 0.01), WithLatency(), Release(), Context(), previous);
  ASSERT_EQ(d.history.signals.size(), 3u);
  EXPECT_TRUE(d.history.signals.contains({kSignal, "app"}));
  EXPECT_TRUE(d.history.signals.contains({kSignal, "prometheus"}));
  EXPECT_TRUE(d.history.signals.contains({kLatency, "default"}));
  EXPECT_EQ(d.history.signals.at({kSignal, "app"}).side, BoundSide::kClear);
}

// ---- non-critical signals ---------------------------------------------------

policy::ThresholdSet WithNonCriticalLatency() {
  policy::ThresholdSet t = Thresholds();
  policy::SignalRule latency = LatencyRule();
  latency.critical = false;
  t.signals.push_back(latency);
  return t;
}

TEST(DecideTest, ANonCriticalBreachDoesNotDecide) {
  TelemetrySnapshot s = ErrorRatio(0.01);
  s.series.push_back(Series(kLatency, "default", Samples(5, 900.0)));
  const Decision d = DecideNow(s, WithNonCriticalLatency());
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_EQ(d.evaluation.verdict, Verdict::kPass);
  ASSERT_EQ(d.evaluation.signals.size(), 2u);
  EXPECT_EQ(d.evaluation.signals[1].state, SignalState::kBreach);  // still shown as evidence
  EXPECT_FALSE(d.evaluation.signals[1].critical);
  // ... nor prevents health.
  EXPECT_EQ(DecideNow(s, WithNonCriticalLatency(), StartedAgo(Minutes(30))).kind, DecisionKind::kHealthy);
}

TEST(DecideTest, ANonCriticalConflictDoesNotEscalate) {
  TelemetrySnapshot s = ErrorRatio(0.01);
  s.series.push_back(Series(kLatency, "app", Samples(5, 900.0)));
  s.series.push_back(Series(kLatency, "prometheus", Samples(5, 100.0)));
  const Decision d = DecideNow(s, WithNonCriticalLatency());
  EXPECT_TRUE(d.evaluation.conflicts.empty());
  EXPECT_EQ(d.kind, DecisionKind::kNone);
}

TEST(DecideTest, ANonCriticalSignalWithoutDataDoesNotBlockAutoRollbackOrHealth) {
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), WithNonCriticalLatency()).kind, DecisionKind::kAutoRollback);
  EXPECT_EQ(DecideNow(ErrorRatio(0.01), WithNonCriticalLatency(), StartedAgo(Minutes(30))).kind,
            DecisionKind::kHealthy);
}

// ---- evidence before health -------------------------------------------------

TEST(DecideTest, BecomesHealthyExactlyAtDurationWhenEveryCriticalSignalPasses) {
  EXPECT_EQ(DecideNow(ErrorRatio(0.01), Thresholds(), StartedAgo(Minutes(30) - Millis(1))).kind,
            DecisionKind::kNone);
  const Decision d = DecideNow(ErrorRatio(0.01), Thresholds(), StartedAgo(Minutes(30)));
  EXPECT_EQ(d.kind, DecisionKind::kHealthy);
  EXPECT_TRUE(d.reasons.empty());
}

TEST(DecideTest, EscalatesInsufficientTelemetryAtDuration) {
  const Decision d = DecideNow(TelemetrySnapshot{{Series(kSignal, "default", Samples(4, 0.01))}}, Thresholds(),
                               StartedAgo(Minutes(30)));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kTelemetryInsufficient}));
  EXPECT_EQ(d.evaluation.verdict, Verdict::kInsufficient);
}

TEST(DecideTest, EscalatesASignalWithNoSamplesAtAllAtDuration) {
  const Decision d = DecideNow(TelemetrySnapshot{}, Thresholds(), StartedAgo(Minutes(45)));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kTelemetryInsufficient}));
}

TEST(DecideTest, EscalatesStaleTelemetryAtDuration) {
  const Decision d = DecideNow(ErrorRatio(0.01, Now() - Seconds(61)), Thresholds(), StartedAgo(Minutes(30)));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kTelemetryStale}));
  EXPECT_EQ(d.evaluation.verdict, Verdict::kInsufficient);
}

TEST(DecideTest, AtDurationOnlyTheTelemetryReasonsApply) {
  policy::ThresholdSet t = WithLatency();
  t.automation = policy::Automation::kApproval;
  ReleaseFacts r = StartedAgo(Minutes(30));
  r.previous_version.reset();
  r.traffic_percent = 100;
  TelemetrySnapshot s{{Series(kSignal, "default", Samples(3, 0.01)),
                       Series(kLatency, "default", Samples(5, 100.0, Now() - Minutes(2)))}};
  const Decision d = DecideNow(s, t, r, Context(Mode::kNormal, 99));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kTelemetryInsufficient, ReasonCode::kTelemetryStale}));
}

TEST(DecideTest, ThinDataBeforeDurationNeverEscalates) {
  const std::vector<TelemetrySnapshot> thin{TelemetrySnapshot{},
                                             TelemetrySnapshot{{Series(kSignal, "default", Samples(4, 0.01))}},
                                             ErrorRatio(0.01, Now() - Minutes(3))};
  for (const TelemetrySnapshot& s : thin) {
    const Decision d = DecideNow(s, Thresholds(), StartedAgo(Minutes(29)));
    EXPECT_EQ(d.kind, DecisionKind::kNone);
    EXPECT_TRUE(d.reasons.empty());
    EXPECT_EQ(d.evaluation.verdict, Verdict::kInsufficient);
  }
}

TEST(DecideTest, ABreachThatHasNotCountedAtDurationIsNeitherHealthyNorEscalated) {
  const Decision d = DecideNow(ErrorRatio(0.2), WithBreachFor(Seconds(30)), StartedAgo(Minutes(31)));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_EQ(d.evaluation.verdict, Verdict::kBreach);
}

TEST(DecideTest, APresentConflictAtDurationIsNotHealthy) {
  const Decision d = DecideNow(TwoSources(0.2, 0.01), WithBreachFor(Seconds(30)), StartedAgo(Minutes(31)));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_EQ(d.evaluation.verdict, Verdict::kConflict);
}

TEST(DecideTest, ACountedBreachAfterDurationStillRollsBack) {
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), Thresholds(), StartedAgo(Minutes(40))).kind, DecisionKind::kAutoRollback);
}

// ---- modes ------------------------------------------------------------------

TEST(DecideTest, DryRunRecordsWouldRollback) {
  const Decision d = DecideNow(ErrorRatio(0.2), Thresholds(), Release(), Context(Mode::kDryRun));
  EXPECT_EQ(d.kind, DecisionKind::kWouldRollback);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach}));
}

TEST(DecideTest, DryRunRecordsWouldEscalateWithTheSameReasons) {
  policy::ThresholdSet t = Thresholds();
  t.automation = policy::Automation::kApproval;
  const Decision d = DecideNow(ErrorRatio(0.2), t, Release(), Context(Mode::kDryRun));
  EXPECT_EQ(d.kind, DecisionKind::kWouldEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kPolicyApprovalRequired}));
}

TEST(DecideTest, DryRunWouldEscalateInsufficientTelemetryAtDuration) {
  const Decision d = DecideNow(TelemetrySnapshot{}, Thresholds(), StartedAgo(Minutes(30)), Context(Mode::kDryRun));
  EXPECT_EQ(d.kind, DecisionKind::kWouldEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kTelemetryInsufficient}));
}

TEST(DecideTest, HealthIsNotAnActionSoEveryModeReportsIt) {
  for (Mode mode : {Mode::kNormal, Mode::kDryRun, Mode::kFreeze}) {
    EXPECT_EQ(DecideNow(ErrorRatio(0.01), Thresholds(), StartedAgo(Minutes(30)), Context(mode)).kind,
              DecisionKind::kHealthy)
        << ModeName(mode);
  }
}

TEST(DecideTest, FreezeTurnsARollbackIntoAnEscalation) {
  const Decision d = DecideNow(ErrorRatio(0.2), Thresholds(), Release(), Context(Mode::kFreeze));
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kModeFreeze}));
}

TEST(DecideTest, FreezeAddsItsReasonToEveryEscalation) {
  policy::ThresholdSet t = Thresholds();
  t.automation = policy::Automation::kApproval;
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), t, Release(), Context(Mode::kFreeze)).reasons,
            (Reasons{ReasonCode::kSignalBreach, ReasonCode::kPolicyApprovalRequired, ReasonCode::kModeFreeze}));
  EXPECT_EQ(DecideNow(TelemetrySnapshot{}, Thresholds(), StartedAgo(Minutes(30)), Context(Mode::kFreeze)).reasons,
            (Reasons{ReasonCode::kTelemetryInsufficient, ReasonCode::kModeFreeze}));
}

TEST(DecideTest, FreezeDecidesNothingWithoutACountedBreach) {
  const Decision d = DecideNow(ErrorRatio(0.01), Thresholds(), Release(), Context(Mode::kFreeze));
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_TRUE(d.reasons.empty());
}

// ---- reversibility --------------------------------------------------------------

TEST(DecideTest, AnIrreversibleClassProposesContainment) {
  policy::ThresholdSet t = Thresholds();
  t.reversibility = policy::Reversibility::kIrreversible;
  t.automation = policy::Automation::kDualApproval;
  const Decision d = DecideNow(ErrorRatio(0.2), t);
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_EQ(d.proposed, ProposedActionType::kContain);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kPolicyDualApprovalRequired}));
}

TEST(DecideTest, OtherClassesProposeRollback) {
  for (auto r : {policy::Reversibility::kTriviallyReversible, policy::Reversibility::kReversibleWithState,
                 policy::Reversibility::kReversibleWithBackup, policy::Reversibility::kPartiallyReversible}) {
    policy::ThresholdSet t = Thresholds();
    t.reversibility = r;
    t.automation = policy::Automation::kApproval;
    EXPECT_EQ(DecideNow(ErrorRatio(0.2), t).proposed, ProposedActionType::kRollback);
  }
}

// Validation refuses `automation: auto` here; should such a set reach the
// core anyway, a human still decides.
TEST(DecideTest, AClassThatCannotBeUndoneBlindlyNeverAutoRollsBack) {
  for (auto r : {policy::Reversibility::kReversibleWithBackup, policy::Reversibility::kPartiallyReversible,
                 policy::Reversibility::kIrreversible}) {
    policy::ThresholdSet t = Thresholds();
    t.reversibility = r;
    t.automation = policy::Automation::kAuto;
    const Decision d = DecideNow(ErrorRatio(0.2), t);
    EXPECT_EQ(d.kind, DecisionKind::kEscalate);
    EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kPolicyApprovalRequired}));
  }
}

TEST(DecideTest, TriviallyReversibleClassesAutoRollBack) {
  policy::ThresholdSet t = Thresholds();
  t.reversibility = policy::Reversibility::kTriviallyReversible;
  EXPECT_EQ(DecideNow(ErrorRatio(0.2), t).kind, DecisionKind::kAutoRollback);
}

// ---- baseline comparisons through Decide ------------------------------------

TEST(DecideTest, ARegressionAgainstTheBaselineRollsBackBelowTheAbsoluteBound) {
  policy::ThresholdSet t = Thresholds();
  t.signals[0].baseline = policy::BaselineRule{2.0, 0.01, policy::StatTest::kMannWhitney, 0.98};
  TelemetrySnapshot s{{Series(kSignal, "default", Samples(20, 0.04), Samples(20, 0.01))}};
  const Decision d = DecideNow(s, t);
  EXPECT_EQ(d.kind, DecisionKind::kAutoRollback);
  EXPECT_TRUE(d.evaluation.signals[0].baseline_breach);
}

TEST(DecideTest, WithoutAPreviousVersionOnlyTheAbsoluteBoundCanBreachAndTheTargetIsUnknown) {
  policy::ThresholdSet t = Thresholds();
  t.signals[0].baseline = policy::BaselineRule{2.0, 0.01, policy::StatTest::kNone, 0.98};
  ReleaseFacts r = Release();
  r.previous_version.reset();
  TelemetrySnapshot regression{{Series(kSignal, "default", Samples(5, 0.04), Samples(5, 0.01))}};
  EXPECT_EQ(DecideNow(regression, t, r).kind, DecisionKind::kNone);
  const Decision d = DecideNow(ErrorRatio(0.2), t, r);
  EXPECT_EQ(d.reasons, (Reasons{ReasonCode::kSignalBreach, ReasonCode::kTargetUnknown}));
}

}  // namespace
}  // namespace backstop::decision

namespace backstop::decision {
namespace {

// DESIGN "Evidence before health": the verdict is insufficient when a
// critical signal is insufficient or stale, even while another breaches.
TEST(DecideVerdictTest, InsufficientCriticalSignalOutranksABreach) {
  policy::ThresholdSet set;
  set.release_class = "c";
  set.version = 1;
  set.reversibility = policy::Reversibility::kReversibleWithState;
  set.automation = policy::Automation::kAuto;
  set.evaluation.window = Millis(300000);
  set.evaluation.min_samples = 3;
  set.evaluation.breach_for = Millis(0);
  policy::SignalRule errors;
  errors.name = "errors";
  errors.max = 0.05;
  policy::SignalRule latency;
  latency.name = "latency";
  latency.max = 500;
  set.signals = {errors, latency};
  const TimePoint now = TimePoint(std::chrono::microseconds(1'800'000'000'000'000LL));
  ReleaseFacts release{"r", "svc", "prod", "v2", std::string("v1"), 5, false, now - std::chrono::minutes(1)};
  TelemetrySnapshot snapshot;
  SeriesPair bad{"errors", "default", {}, {}};
  for (int i = 0; i < 5; ++i) bad.canary.push_back({now - std::chrono::seconds(i), 0.5});
  snapshot.series.push_back(bad);  // latency has no samples at all
  const Decision d = Decide(release, set, snapshot, DecisionContext{now, Mode::kNormal, 0}, {});
  EXPECT_EQ(d.evaluation.verdict, Verdict::kInsufficient);
  EXPECT_EQ(d.kind, DecisionKind::kEscalate);
  EXPECT_NE(std::find(d.reasons.begin(), d.reasons.end(), ReasonCode::kTelemetryInsufficient), d.reasons.end());
  EXPECT_NE(std::find(d.reasons.begin(), d.reasons.end(), ReasonCode::kSignalBreach), d.reasons.end());
}

}  // namespace
}  // namespace backstop::decision
