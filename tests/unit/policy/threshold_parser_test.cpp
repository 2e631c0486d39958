#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "backstop/policy/threshold_parser.hpp"
#include "temp_dir.hpp"

namespace backstop::policy {
namespace {

// The header of a minimal valid file; tests replace or append pieces of it.
constexpr const char* kMinimal = R"(release_class: web
version: 1
reversibility: reversible_with_state
automation: auto
evaluation:
  window: 5m
  min_samples: 20
signals:
  - name: http_5xx_ratio
    max: 0.05
)";

// The example from DESIGN.md "Threshold files", comments included.
constexpr const char* kDesignExample = R"(release_class: stateless-service
version: 3
description: Stateless HTTP services behind a load balancer.
reversibility: reversible_with_state  # trivially_reversible | reversible_with_state |
                                      # reversible_with_backup | partially_reversible | irreversible
automation: auto                      # auto | approval | dual_approval
blast_radius:
  max_traffic_percent: 25             # auto-rollback only while the release serves <= this share
  allow_shared_infrastructure: false  # a release flagged shared_infrastructure escalates
budget:
  max_auto_rollbacks: 5               # auto-rollbacks of this class per environment ...
  per: 1h                             # ... within this sliding window; past it: escalate
approval:
  ttl: 2h                             # an escalation expires unanswered after this
evaluation:
  window: 5m                          # samples older than this are ignored
  min_samples: 20                     # per signal, cohort and source; fewer = insufficient
  max_staleness: 60s                  # newest sample older than this = stale
  breach_for: 30s                     # a breach must hold this long before it counts (0s = at once)
  duration: 30m                       # no breach for this long after start = verified healthy
  flap_limit: 3                       # more breach<->pass flips than this within window = flapping
signals:
  - name: http_5xx_ratio
    critical: true                    # critical signals decide; others are evidence only
    aggregate: mean                   # mean | max | last
    bad_when: above                   # above (uses max) | below (uses min)
    max: 0.05                         # absolute bound
    baseline:                         # optional comparison with the previous version
      ratio: 2.0                      # breach if canary > baseline * ratio (below: canary < baseline / ratio)
      min_delta: 0.01                 # ... and differs from baseline by at least this much
      test: mann_whitney              # ... and is significantly worse (none | mann_whitney)
      confidence: 0.98                # 0.5 < confidence < 1
    sources_tolerance: 0.5            # two sources' aggregates differing by more than 50% = disagreement
)";

// Replaces the first occurrence of `from` (which must exist) with `to`.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test text lacks: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// kMinimal with its one signal's body (the lines after `- name: ...`) replaced.
std::string WithSignal(const std::string& body) {
  return Replace(kMinimal, "    max: 0.05\n", body);
}

// The errors of parsing `yaml`, each as "FIELD: reason" (the file is checked
// separately), in the order reported.
std::vector<std::string> Errors(const std::string& yaml) {
  const ParseResult result = ParseThresholdYaml(yaml, "test.yaml");
  std::vector<std::string> lines;
  for (const ValidationError& e : result.errors) {
    EXPECT_EQ(e.file, "test.yaml");
    lines.push_back(e.field + ": " + e.reason);
  }
  EXPECT_EQ(result.set.has_value(), lines.empty());
  return lines;
}

using Lines = std::vector<std::string>;

ThresholdSet MustParse(const std::string& yaml) {
  ParseResult result = ParseThresholdYaml(yaml, "test.yaml");
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  return result.set.value_or(ThresholdSet{});
}

// ---- valid files ------------------------------------------------------------

TEST(ThresholdParserTest, ParsesTheDesignExampleWithExactValues) {
  const ThresholdSet set = MustParse(kDesignExample);
  EXPECT_EQ(set.release_class, "stateless-service");
  EXPECT_EQ(set.version, 3);
  EXPECT_EQ(set.description, "Stateless HTTP services behind a load balancer.");
  EXPECT_EQ(set.reversibility, Reversibility::kReversibleWithState);
  EXPECT_EQ(set.automation, Automation::kAuto);
  EXPECT_EQ(set.max_traffic_percent, 25);
  EXPECT_FALSE(set.allow_shared_infrastructure);
  EXPECT_EQ(set.max_auto_rollbacks, 5);
  EXPECT_EQ(set.budget_per, Millis(3'600'000));
  EXPECT_EQ(set.approval_ttl, Millis(7'200'000));
  EXPECT_EQ(set.evaluation.window, Millis(300'000));
  EXPECT_EQ(set.evaluation.min_samples, 20);
  EXPECT_EQ(set.evaluation.max_staleness, Millis(60'000));
  EXPECT_EQ(set.evaluation.breach_for, Millis(30'000));
  EXPECT_EQ(set.evaluation.duration, Millis(1'800'000));
  EXPECT_EQ(set.evaluation.flap_limit, 3);
  ASSERT_EQ(set.signals.size(), 1u);
  const SignalRule& signal = set.signals[0];
  EXPECT_EQ(signal.name, "http_5xx_ratio");
  EXPECT_TRUE(signal.critical);
  EXPECT_EQ(signal.aggregate, AggregateKind::kMean);
  EXPECT_EQ(signal.bad_when, BadWhen::kAbove);
  EXPECT_EQ(signal.max, 0.05);
  EXPECT_FALSE(signal.min.has_value());
  ASSERT_TRUE(signal.baseline.has_value());
  EXPECT_EQ(signal.baseline->ratio, 2.0);
  EXPECT_EQ(signal.baseline->min_delta, 0.01);
  EXPECT_EQ(signal.baseline->test, StatTest::kMannWhitney);
  EXPECT_EQ(signal.baseline->confidence, 0.98);
  EXPECT_EQ(signal.sources_tolerance, 0.5);
  EXPECT_EQ(set.RequiredApprovals(), 1);
}

TEST(ThresholdParserTest, FillsEveryDefaultInAMinimalFile) {
  const ThresholdSet set = MustParse(kMinimal);
  EXPECT_EQ(set.description, "");
  EXPECT_EQ(set.max_traffic_percent, 25);
  EXPECT_FALSE(set.allow_shared_infrastructure);
  EXPECT_EQ(set.max_auto_rollbacks, 5);
  EXPECT_EQ(set.budget_per, Millis(3'600'000));
  EXPECT_EQ(set.approval_ttl, Millis(7'200'000));
  EXPECT_EQ(set.evaluation.max_staleness, Millis(60'000));
  EXPECT_EQ(set.evaluation.breach_for, Millis(30'000));
  EXPECT_EQ(set.evaluation.duration, Millis(1'800'000));
  EXPECT_EQ(set.evaluation.flap_limit, 3);
  ASSERT_EQ(set.signals.size(), 1u);
  EXPECT_TRUE(set.signals[0].critical);
  EXPECT_EQ(set.signals[0].aggregate, AggregateKind::kMean);
  EXPECT_EQ(set.signals[0].bad_when, BadWhen::kAbove);
  EXPECT_FALSE(set.signals[0].baseline.has_value());
  EXPECT_EQ(set.signals[0].sources_tolerance, 0.5);
}

TEST(ThresholdParserTest, FillsBaselineDefaultsWhenOnlyRatioIsGiven) {
  const ThresholdSet set = MustParse(WithSignal("    max: 0.05\n    baseline:\n      ratio: 1.5\n"));
  ASSERT_TRUE(set.signals[0].baseline.has_value());
  EXPECT_EQ(set.signals[0].baseline->ratio, 1.5);
  EXPECT_EQ(set.signals[0].baseline->min_delta, 0.0);
  EXPECT_EQ(set.signals[0].baseline->test, StatTest::kMannWhitney);
  EXPECT_EQ(set.signals[0].baseline->confidence, 0.95);
}

TEST(ThresholdParserTest, ParsesABelowSignalWithMin) {
  const ThresholdSet set =
      MustParse(WithSignal("    bad_when: below\n    min: 0.99\n    aggregate: last\n"));
  EXPECT_EQ(set.signals[0].bad_when, BadWhen::kBelow);
  EXPECT_EQ(set.signals[0].min, 0.99);
  EXPECT_FALSE(set.signals[0].max.has_value());
  EXPECT_EQ(set.signals[0].aggregate, AggregateKind::kLast);
}

TEST(ThresholdParserTest, AcceptsZeroBreachFor) {
  const ThresholdSet set =
      MustParse(Replace(kMinimal, "  min_samples: 20\n", "  min_samples: 20\n  breach_for: 0s\n"));
  EXPECT_EQ(set.evaluation.breach_for, Millis(0));
}

TEST(ThresholdParserTest, AcceptsQuotedStringsAndDurations) {
  const ThresholdSet set = MustParse(
      Replace(Replace(kMinimal, "release_class: web", "release_class: \"web\""), "window: 5m",
              "window: '5m'"));
  EXPECT_EQ(set.release_class, "web");
  EXPECT_EQ(set.evaluation.window, Millis(300'000));
}

TEST(ThresholdParserTest, CountsANullValueAsAbsent) {
  // `approval:` with its lines commented out keeps the defaults.
  const ThresholdSet set = MustParse(std::string(kMinimal) + "approval:\n  # ttl: 1h\n");
  EXPECT_EQ(set.approval_ttl, Millis(7'200'000));
}

TEST(ThresholdParserTest, AllowsAutoForTheTwoReversibleClasses) {
  for (const char* r : {"trivially_reversible", "reversible_with_state"}) {
    EXPECT_EQ(Errors(Replace(kMinimal, "reversible_with_state", r)), Lines{}) << r;
  }
}

TEST(ThresholdParserTest, AllowsHumanAutomationForEveryReversibility) {
  for (const char* r : {"trivially_reversible", "reversible_with_state", "reversible_with_backup",
                        "partially_reversible", "irreversible"}) {
    for (const char* a : {"approval", "dual_approval"}) {
      const std::string yaml = Replace(Replace(kMinimal, "reversible_with_state", r),
                                       "automation: auto", std::string("automation: ") + a);
      EXPECT_EQ(Errors(yaml), Lines{}) << r << " " << a;
    }
  }
}

// ---- reversibility bounds automation -----------------------------------------

TEST(ThresholdParserTest, RefusesAutoForAnIrreversibleClassNamingAutomation) {
  EXPECT_EQ(Errors(Replace(kMinimal, "reversible_with_state", "irreversible")),
            (Lines{"automation: auto is not allowed with reversibility irreversible (only with "
                   "trivially_reversible or reversible_with_state)"}));
}

TEST(ThresholdParserTest, RefusesAutoForBackupAndPartialReversibility) {
  for (const std::string r : {"reversible_with_backup", "partially_reversible"}) {
    const Lines errors = Errors(Replace(kMinimal, "reversible_with_state", r));
    ASSERT_EQ(errors.size(), 1u) << r;
    EXPECT_EQ(errors[0].rfind("automation: auto is not allowed with reversibility " + r, 0), 0u)
        << errors[0];
  }
}

// ---- required keys -------------------------------------------------------------

TEST(ThresholdParserTest, RequiresReleaseClass) {
  EXPECT_EQ(Errors(Replace(kMinimal, "release_class: web\n", "")),
            Lines{"release_class: is required"});
}

TEST(ThresholdParserTest, RequiresVersion) {
  EXPECT_EQ(Errors(Replace(kMinimal, "version: 1\n", "")), Lines{"version: is required"});
}

TEST(ThresholdParserTest, RequiresReversibility) {
  EXPECT_EQ(Errors(Replace(kMinimal, "reversibility: reversible_with_state\n", "")),
            Lines{"reversibility: is required"});
}

TEST(ThresholdParserTest, RequiresAutomation) {
  EXPECT_EQ(Errors(Replace(kMinimal, "automation: auto\n", "")), Lines{"automation: is required"});
}

TEST(ThresholdParserTest, RequiresEvaluationWindow) {
  EXPECT_EQ(Errors(Replace(kMinimal, "  window: 5m\n", "")), Lines{"evaluation.window: is required"});
}

TEST(ThresholdParserTest, RequiresEvaluationMinSamples) {
  EXPECT_EQ(Errors(Replace(kMinimal, "  min_samples: 20\n", "")),
            Lines{"evaluation.min_samples: is required"});
}

TEST(ThresholdParserTest, NamesBothEvaluationKeysWhenTheSectionIsMissing) {
  EXPECT_EQ(Errors(Replace(kMinimal, "evaluation:\n  window: 5m\n  min_samples: 20\n", "")),
            (Lines{"evaluation.window: is required", "evaluation.min_samples: is required"}));
}

TEST(ThresholdParserTest, RequiresSignals) {
  EXPECT_EQ(Errors(Replace(kMinimal, "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n", "")),
            Lines{"signals: is required"});
}

TEST(ThresholdParserTest, RequiresAtLeastOneSignal) {
  EXPECT_EQ(Errors(Replace(kMinimal, "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n",
                           "signals: []\n")),
            Lines{"signals: must be a non-empty sequence"});
}

TEST(ThresholdParserTest, RequiresASignalName) {
  EXPECT_EQ(Errors(Replace(kMinimal, "  - name: http_5xx_ratio\n    max", "  - max")),
            Lines{"signals[0].name: is required"});
}

TEST(ThresholdParserTest, RequiresBaselineRatio) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    baseline:\n      min_delta: 0.01\n")),
            Lines{"signals[0].baseline.ratio: is required"});
}

// ---- identifiers, integers, enums ------------------------------------------------

TEST(ThresholdParserTest, RejectsAReleaseClassThatIsNotAnIdentifier) {
  for (const std::string& bad : std::vector<std::string>{"\"web service\"", "\"\"", "web/api",
                                                        std::string(129, 'a'), "[web]"}) {
    EXPECT_EQ(Errors(Replace(kMinimal, "release_class: web", "release_class: " + bad)),
              Lines{"release_class: must be 1-128 characters of [A-Za-z0-9._:-]"})
        << bad;
  }
}

TEST(ThresholdParserTest, AcceptsAReleaseClassOf128Characters) {
  EXPECT_EQ(Errors(Replace(kMinimal, "release_class: web", "release_class: " + std::string(128, 'a'))),
            Lines{});
}

TEST(ThresholdParserTest, RejectsAVersionThatIsNotAPositiveInteger) {
  for (const char* bad : {"0", "-1", "1.5", "\"1\"", "one", "[1]", "99999999999999999999"}) {
    EXPECT_EQ(Errors(Replace(kMinimal, "version: 1", std::string("version: ") + bad)),
              Lines{"version: must be a positive integer"})
        << bad;
  }
}

TEST(ThresholdParserTest, RejectsAnUnknownReversibility) {
  EXPECT_EQ(Errors(Replace(kMinimal, "reversible_with_state", "reversible")),
            Lines{"reversibility: must be one of trivially_reversible, reversible_with_state, "
                  "reversible_with_backup, partially_reversible, irreversible"});
}

TEST(ThresholdParserTest, RejectsAnUnknownAutomation) {
  EXPECT_EQ(Errors(Replace(kMinimal, "automation: auto", "automation: Auto")),
            Lines{"automation: must be one of auto, approval, dual_approval"});
}

TEST(ThresholdParserTest, RejectsTrafficPercentOutsideZeroToHundred) {
  for (const char* bad : {"101", "-1", "50.5", "\"25\"", "lots"}) {
    EXPECT_EQ(Errors(std::string(kMinimal) + "blast_radius:\n  max_traffic_percent: " + bad + "\n"),
              Lines{"blast_radius.max_traffic_percent: must be an integer from 0 to 100"})
        << bad;
  }
}

TEST(ThresholdParserTest, AcceptsTrafficPercentBounds) {
  for (const char* ok : {"0", "100"}) {
    EXPECT_EQ(Errors(std::string(kMinimal) + "blast_radius:\n  max_traffic_percent: " + ok + "\n"),
              Lines{});
  }
}

TEST(ThresholdParserTest, RejectsSharedInfrastructureThatIsNotABoolean) {
  for (const char* bad : {"yes", "1", "\"true\"", "on"}) {
    EXPECT_EQ(Errors(std::string(kMinimal) + "blast_radius:\n  allow_shared_infrastructure: " +
                     bad + "\n"),
              Lines{"blast_radius.allow_shared_infrastructure: must be true or false"})
        << bad;
  }
}

TEST(ThresholdParserTest, RejectsANegativeRollbackBudget) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "budget:\n  max_auto_rollbacks: -1\n"),
            Lines{"budget.max_auto_rollbacks: must be an integer from 0 to 1000"});
}

TEST(ThresholdParserTest, AcceptsAZeroRollbackBudget) {
  EXPECT_EQ(MustParse(std::string(kMinimal) + "budget:\n  max_auto_rollbacks: 0\n").max_auto_rollbacks,
            0);
}

TEST(ThresholdParserTest, RejectsZeroMinSamples) {
  EXPECT_EQ(Errors(Replace(kMinimal, "min_samples: 20", "min_samples: 0")),
            Lines{"evaluation.min_samples: must be an integer from 1 to 1000000"});
}

TEST(ThresholdParserTest, RejectsZeroFlapLimit) {
  EXPECT_EQ(Errors(Replace(kMinimal, "min_samples: 20", "min_samples: 20\n  flap_limit: 0")),
            Lines{"evaluation.flap_limit: must be an integer from 1 to 1000"});
}

TEST(ThresholdParserTest, RejectsAnUnknownAggregate) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    aggregate: p99\n")),
            Lines{"signals[0].aggregate: must be one of mean, max, last"});
}

TEST(ThresholdParserTest, RejectsAnUnknownBadWhen) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    bad_when: higher\n")),
            Lines{"signals[0].bad_when: must be one of above, below"});
}

TEST(ThresholdParserTest, RejectsAnUnknownStatisticalTest) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    baseline:\n      ratio: 2\n      test: t_test\n")),
            Lines{"signals[0].baseline.test: must be one of none, mann_whitney"});
}

TEST(ThresholdParserTest, RejectsANonBooleanCritical) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    critical: maybe\n")),
            Lines{"signals[0].critical: must be true or false"});
}

// ---- durations -------------------------------------------------------------------

TEST(ThresholdParserTest, RejectsMalformedDurations) {
  for (const char* bad : {"5", "5 m", "1.5h", "-5m", "5d", "[5m]", "{a: 1}"}) {
    EXPECT_EQ(Errors(std::string(kMinimal) + "approval:\n  ttl: " + bad + "\n"),
              Lines{"approval.ttl: must be a duration like 500ms, 30s, 5m, 2h"})
        << bad;
  }
}

TEST(ThresholdParserTest, RejectsZeroWhereADurationMustBePositive) {
  EXPECT_EQ(Errors(Replace(kMinimal, "window: 5m", "window: 0s")),
            Lines{"evaluation.window: must be greater than 0s"});
  EXPECT_EQ(Errors(std::string(kMinimal) + "budget:\n  per: 0ms\n"),
            Lines{"budget.per: must be greater than 0s"});
  EXPECT_EQ(Errors(Replace(kMinimal, "min_samples: 20", "min_samples: 20\n  max_staleness: 0s")),
            Lines{"evaluation.max_staleness: must be greater than 0s"});
  EXPECT_EQ(Errors(Replace(kMinimal, "min_samples: 20", "min_samples: 20\n  duration: 0m")),
            Lines{"evaluation.duration: must be greater than 0s"});
}

TEST(ThresholdParserTest, RejectsDurationsLongerThanThirtyDays) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "approval:\n  ttl: 721h\n"),
            Lines{"approval.ttl: must be at most 720h"});
}

// ---- signal bounds ---------------------------------------------------------------

TEST(ThresholdParserTest, RequiresMaxForBadWhenAbove) {
  EXPECT_EQ(Errors(WithSignal("    bad_when: above\n")),
            Lines{"signals[0].max: bad_when: above needs max"});
  EXPECT_EQ(Errors(WithSignal("    critical: false\n")),
            Lines{"signals[0].max: bad_when: above needs max"});
}

TEST(ThresholdParserTest, RequiresMinForBadWhenBelow) {
  EXPECT_EQ(Errors(WithSignal("    bad_when: below\n")),
            Lines{"signals[0].min: bad_when: below needs min"});
}

TEST(ThresholdParserTest, RejectsABoundThatBadWhenDoesNotUse) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    min: 0.01\n")),
            Lines{"signals[0].min: is not used with bad_when: above"});
  EXPECT_EQ(Errors(WithSignal("    bad_when: below\n    min: 0.9\n    max: 1\n")),
            Lines{"signals[0].max: is not used with bad_when: below"});
}

TEST(ThresholdParserTest, RejectsABoundThatIsNotANumber) {
  for (const char* bad : {"high", "\"0.05\"", "[1]", "0x10", "1,5"}) {
    EXPECT_EQ(Errors(WithSignal(std::string("    max: ") + bad + "\n")),
              Lines{"signals[0].max: must be a number"})
        << bad;
  }
}

TEST(ThresholdParserTest, RejectsABoundThatIsNotFinite) {
  for (const char* bad : {"nan", "inf", "1e999"}) {
    EXPECT_EQ(Errors(WithSignal(std::string("    max: ") + bad + "\n")),
              Lines{"signals[0].max: must be a finite number"})
        << bad;
  }
  EXPECT_EQ(Errors(WithSignal("    max: .inf\n")), Lines{"signals[0].max: must be a number"});
}

TEST(ThresholdParserTest, AcceptsNumbersInEveryDecimalSpelling) {
  for (const auto& [text, value] : std::vector<std::pair<std::string, double>>{
           {"5", 5.0}, {"-5", -5.0}, {"+5", 5.0}, {"0.5", 0.5}, {".5", 0.5}, {"1e-3", 0.001},
           {"2E3", 2000.0}}) {
    const ThresholdSet set = MustParse(WithSignal("    max: " + text + "\n"));
    ASSERT_EQ(set.signals.size(), 1u);
    EXPECT_EQ(set.signals[0].max, value) << text;
  }
}

TEST(ThresholdParserTest, RejectsABaselineRatioOfOneOrLess) {
  for (const char* bad : {"1", "0.5", "-2"}) {
    EXPECT_EQ(Errors(WithSignal(std::string("    max: 0.05\n    baseline:\n      ratio: ") + bad +
                                "\n")),
              Lines{"signals[0].baseline.ratio: must be greater than 1"})
        << bad;
  }
}

TEST(ThresholdParserTest, RejectsANegativeMinDelta) {
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    baseline:\n      ratio: 2\n      min_delta: -0.1\n")),
            Lines{"signals[0].baseline.min_delta: must be at least 0"});
}

TEST(ThresholdParserTest, RejectsConfidenceOutsideTheOpenInterval) {
  for (const char* bad : {"0.5", "1", "1.5", "0.2"}) {
    EXPECT_EQ(Errors(WithSignal(std::string("    max: 0.05\n    baseline:\n      ratio: 2\n"
                                            "      confidence: ") +
                                bad + "\n")),
              Lines{"signals[0].baseline.confidence: must be greater than 0.5 and less than 1"})
        << bad;
  }
}

TEST(ThresholdParserTest, RejectsSourcesToleranceOfZeroOrLess) {
  for (const char* bad : {"0", "-0.5"}) {
    EXPECT_EQ(Errors(WithSignal(std::string("    max: 0.05\n    sources_tolerance: ") + bad + "\n")),
              Lines{"signals[0].sources_tolerance: must be greater than 0"})
        << bad;
  }
}

// ---- signals -------------------------------------------------------------------

TEST(ThresholdParserTest, RejectsADuplicateSignalOnTheSecondOccurrence) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "  - name: latency_ms\n    max: 100\n"
                                           "  - name: http_5xx_ratio\n    max: 0.1\n"),
            Lines{"signals[2].name: duplicate signal \"http_5xx_ratio\""});
}

TEST(ThresholdParserTest, RejectsASignalNameThatIsNotAnIdentifier) {
  EXPECT_EQ(Errors(Replace(kMinimal, "name: http_5xx_ratio", "name: http 5xx")),
            Lines{"signals[0].name: must be 1-128 characters of [A-Za-z0-9._:-]"});
}

TEST(ThresholdParserTest, RejectsASignalThatIsNotAMap) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "  - http_5xx_ratio\n"),
            Lines{"signals[1]: must be a map"});
}

TEST(ThresholdParserTest, RejectsAMapWhereTheSignalSequenceGoes) {
  EXPECT_EQ(Errors(Replace(kMinimal, "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n",
                           "signals:\n  http_5xx_ratio:\n    max: 0.05\n")),
            Lines{"signals: must be a non-empty sequence"});
}

TEST(ThresholdParserTest, RejectsASequenceWhereAMapGoes) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "blast_radius: [25]\n"),
            Lines{"blast_radius: must be a map"});
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    baseline: 2.0\n")),
            Lines{"signals[0].baseline: must be a map"});
}

TEST(ThresholdParserTest, RejectsAMapWhereAStringGoes) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "description:\n  text: x\n"),
            Lines{"description: must be a string"});
}

TEST(ThresholdParserTest, RejectsADescriptionThatIsNotUtf8) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "description: \"caf\xe9\"\n"),
            Lines{"description: must be valid UTF-8"});
}

// ---- unknown and duplicate keys --------------------------------------------------

TEST(ThresholdParserTest, RejectsUnknownKeysAtEveryLevelNamingThePath) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "owner: sre\n"), Lines{"owner: unknown key"});
  EXPECT_EQ(Errors(std::string(kMinimal) + "blast_radius:\n  max_trafic_percent: 10\n"),
            Lines{"blast_radius.max_trafic_percent: unknown key"});
  EXPECT_EQ(Errors(std::string(kMinimal) + "budget:\n  window: 1h\n"),
            Lines{"budget.window: unknown key"});
  EXPECT_EQ(Errors(std::string(kMinimal) + "approval:\n  expiry: 1h\n"),
            Lines{"approval.expiry: unknown key"});
  EXPECT_EQ(Errors(Replace(kMinimal, "min_samples: 20", "min_samples: 20\n  breach: 1m")),
            Lines{"evaluation.breach: unknown key"});
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    threshold: 1\n")),
            Lines{"signals[0].threshold: unknown key"});
  EXPECT_EQ(Errors(WithSignal("    max: 0.05\n    baseline:\n      ratio: 2\n      p: 0.05\n")),
            Lines{"signals[0].baseline.p: unknown key"});
}

TEST(ThresholdParserTest, RejectsAKeyGivenTwice) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "version: 2\n"), Lines{"version: duplicate key"});
}

// ---- whole-file problems ---------------------------------------------------------

TEST(ThresholdParserTest, ReportsAYamlSyntaxErrorWithItsLine) {
  const Lines errors = Errors("release_class: web\nversion: [1\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("(yaml): invalid YAML at line ", 0), 0u) << errors[0];
}

TEST(ThresholdParserTest, ReportsTheLineOfABadIndent) {
  const Lines errors = Errors("release_class: web\nversion: 1\n  bad: indent\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("line 3"), std::string::npos) << errors[0];
}

TEST(ThresholdParserTest, RejectsATopLevelThatIsNotAMap) {
  EXPECT_EQ(Errors("- release_class: web\n"), Lines{"(file): must be a map of threshold settings"});
  EXPECT_EQ(Errors("just text\n"), Lines{"(file): must be a map of threshold settings"});
}

TEST(ThresholdParserTest, RejectsAnEmptyFile) {
  EXPECT_EQ(Errors(""), Lines{"(file): is empty"});
  EXPECT_EQ(Errors("# only a comment\n"), Lines{"(file): is empty"});
}

TEST(ThresholdParserTest, RejectsMoreThanOneDocument) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "---\n" + kMinimal),
            Lines{"(file): must hold exactly one YAML document"});
}

TEST(ThresholdParserTest, ReportsAStrayFlowIndicatorInsteadOfLoopingForever) {
  // yaml-cpp 0.7 alone never returns from LoadAll on this input.
  EXPECT_EQ(Errors(",release_class: web\n"),
            Lines{"(yaml): invalid YAML at line 1, column 1: unexpected \",\""});
  EXPECT_EQ(Errors(std::string(kMinimal) + "--- ,\n"),
            Lines{"(file): must hold exactly one YAML document"});
}

TEST(ThresholdParserTest, ReportsUnknownAndDuplicateKeysInOneSectionTogether) {
  EXPECT_EQ(Errors(Replace(kMinimal, "  min_samples: 20\n",
                           "  min_samples: 20\n  windw: 1m\n  window: 10m\n")),
            (Lines{"evaluation.windw: unknown key", "evaluation.window: duplicate key"}));
}

TEST(ThresholdParserTest, ReportsAnExplicitlyEmptyDocumentAsNotAMap) {
  EXPECT_EQ(Errors("---\n"), Lines{"(file): must be a map of threshold settings"});
}

TEST(ThresholdParserTest, CollectsEveryErrorNotJustTheFirst) {
  const std::string yaml = R"(release_class: "bad class"
version: 0
reversibility: irreversible
automation: auto
blast_radius:
  max_traffic_percent: 200
  colour: red
evaluation:
  window: soon
signals:
  - name: a
    bad_when: below
  - name: a
    max: x
)";
  EXPECT_EQ(Errors(yaml),
            (Lines{
                "release_class: must be 1-128 characters of [A-Za-z0-9._:-]",
                "version: must be a positive integer",
                "automation: auto is not allowed with reversibility irreversible (only with "
                "trivially_reversible or reversible_with_state)",
                "blast_radius.colour: unknown key",
                "blast_radius.max_traffic_percent: must be an integer from 0 to 100",
                "evaluation.window: must be a duration like 500ms, 30s, 5m, 2h",
                "evaluation.min_samples: is required",
                "signals[0].min: bad_when: below needs min",
                "signals[1].name: duplicate signal \"a\"",
                "signals[1].max: must be a number",
            }));
}

TEST(ThresholdParserTest, FormatsAnErrorAsFileFieldReason) {
  const ValidationError error{"web.yaml", "evaluation.window", "is required"};
  EXPECT_EQ(error.ToString(), "web.yaml: evaluation.window: is required");
}

TEST(ThresholdParserTest, NamesTheFileLabelInEveryError) {
  const ParseResult result = ParseThresholdYaml("version: x\n", "classes/web.yaml");
  ASSERT_FALSE(result.errors.empty());
  for (const auto& e : result.errors) EXPECT_EQ(e.file, "classes/web.yaml");
}

// ---- canonical JSON --------------------------------------------------------------

TEST(ThresholdParserTest, WritesTheCanonicalJsonOfAMinimalFileWithEveryDefault) {
  EXPECT_EQ(CanonicalJson(MustParse(kMinimal)),
            R"({"release_class":"web","version":1,"description":"",)"
            R"("reversibility":"reversible_with_state","automation":"auto",)"
            R"("blast_radius":{"max_traffic_percent":25,"allow_shared_infrastructure":false},)"
            R"("budget":{"max_auto_rollbacks":5,"per":"1h"},"approval":{"ttl":"2h"},)"
            R"("evaluation":{"window":"5m","min_samples":20,"max_staleness":"1m",)"
            R"("breach_for":"30s","duration":"30m","flap_limit":3},)"
            R"("signals":[{"name":"http_5xx_ratio","critical":true,"aggregate":"mean",)"
            R"("bad_when":"above","max":0.05,"sources_tolerance":0.5}]})");
}

TEST(ThresholdParserTest, WritesBaselineAndMinInTheCanonicalJson) {
  const std::string json = CanonicalJson(MustParse(
      WithSignal("    bad_when: below\n    min: 0.99\n    baseline:\n      ratio: 1.25\n")));
  EXPECT_NE(json.find(R"("bad_when":"below","min":0.99,"baseline":{"ratio":1.25,"min_delta":0,)"
                      R"("test":"mann_whitney","confidence":0.95},"sources_tolerance":0.5})"),
            std::string::npos)
      << json;
}

TEST(ThresholdParserTest, CanonicalJsonIgnoresCommentsWhitespaceKeyOrderAndStyle) {
  const std::string reordered = R"(
# the same set, written differently
signals: [{sources_tolerance: 0.50, baseline: {confidence: 0.980, test: mann_whitney,
           min_delta: 1e-2, ratio: 2}, max: 5e-2, bad_when: above, aggregate: mean,
           critical: true, name: http_5xx_ratio}]
evaluation: {flap_limit: 3, duration: 1800s, breach_for: 30000ms, max_staleness: 1m,
             min_samples: 20, window: 300s}
approval: {ttl: 120m}
budget:
  per: 60m
  max_auto_rollbacks: 5
blast_radius:
    allow_shared_infrastructure: false
    max_traffic_percent: 25
automation: "auto"
reversibility: 'reversible_with_state'
description: "Stateless HTTP services behind a load balancer."
version: 3
release_class: stateless-service
)";
  EXPECT_EQ(CanonicalJson(MustParse(reordered)), CanonicalJson(MustParse(kDesignExample)));
  EXPECT_EQ(ContentSha256(MustParse(reordered)), ContentSha256(MustParse(kDesignExample)));
}

TEST(ThresholdParserTest, CanonicalJsonTreatsExplicitDefaultsAsOmittedOnes) {
  const std::string explicit_defaults = std::string(kMinimal) +
                                        "blast_radius:\n  max_traffic_percent: 25\n"
                                        "approval:\n  ttl: 2h\n";
  EXPECT_EQ(CanonicalJson(MustParse(explicit_defaults)), CanonicalJson(MustParse(kMinimal)));
}

void ExpectRoundTrip(const ThresholdSet& set) {
  const std::string json = CanonicalJson(set);
  const ParseResult again = ParseThresholdYaml(json, "canonical.json");
  for (const auto& e : again.errors) ADD_FAILURE() << e.ToString() << "\n" << json;
  ASSERT_TRUE(again.set.has_value());
  EXPECT_EQ(*again.set, set) << json;
  EXPECT_EQ(CanonicalJson(*again.set), json);
}

TEST(ThresholdParserTest, CanonicalJsonParsesBackIntoAnEqualSet) {
  ExpectRoundTrip(MustParse(kDesignExample));
  ExpectRoundTrip(MustParse(kMinimal));
  ExpectRoundTrip(MustParse(WithSignal("    bad_when: below\n    min: -0.001\n    critical: false\n"
                                       "    aggregate: max\n    baseline:\n      ratio: 1.0001\n"
                                       "      test: none\n      confidence: 0.5000001\n")));
}

TEST(ThresholdParserTest, CanonicalJsonRoundTripsAwkwardNumbers) {
  for (const char* number : {"0.1", "1e-7", "123456789.123456789", "1e21", "-0", "5e-324",
                             "1.7976931348623157e308", "0.30000000000000004", "3"}) {
    const ThresholdSet set = MustParse(WithSignal(std::string("    max: ") + number + "\n"));
    ExpectRoundTrip(set);
  }
}

TEST(ThresholdParserTest, CanonicalJsonWritesNegativeZeroAsZero) {
  EXPECT_EQ(CanonicalJson(MustParse(WithSignal("    max: -0.0\n"))),
            CanonicalJson(MustParse(WithSignal("    max: 0\n"))));
}

TEST(ThresholdParserTest, CanonicalJsonRoundTripsAwkwardDescriptions) {
  for (const std::string description :
       {"\"quotes\" and \\backslashes\\", "line one\nline two\n", "tab\there", "caf\xc3\xa9 \xe2\x9c\x93",
        "bell\x07 and escape\x1b", "  leading and trailing  ", "# not a comment", "key: value",
        "- dash", "null", "true", "{braces} [brackets]", ""}) {
    ThresholdSet set = MustParse(kMinimal);
    set.description = description;
    ExpectRoundTrip(set);
  }
}

TEST(ThresholdParserTest, CanonicalJsonRoundTripsLongDurations) {
  ThresholdSet set = MustParse(kMinimal);
  set.approval_ttl = Millis(1500);
  set.budget_per = Millis(90'000);
  set.evaluation.breach_for = Millis(0);
  set.evaluation.duration = std::chrono::hours(720);
  ExpectRoundTrip(set);
}

TEST(ThresholdParserTest, ContentShaIsTheShaOfTheCanonicalJson) {
  const ThresholdSet set = MustParse(kMinimal);
  const std::string sha = ContentSha256(set);
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(sha, ContentSha256(MustParse(kMinimal)));
}

TEST(ThresholdParserTest, ContentShaChangesWhenAnyThresholdChanges) {
  const ThresholdSet base = MustParse(std::string(kDesignExample) +
                                      "  - name: availability\n    bad_when: below\n    min: 0.99\n");
  const std::string base_sha = ContentSha256(base);
  const std::vector<std::pair<std::string, std::function<void(ThresholdSet&)>>> mutations = {
      {"release_class", [](ThresholdSet& s) { s.release_class = "other"; }},
      {"version", [](ThresholdSet& s) { s.version = 4; }},
      {"description", [](ThresholdSet& s) { s.description += "!"; }},
      {"reversibility", [](ThresholdSet& s) { s.reversibility = Reversibility::kTriviallyReversible; }},
      {"automation", [](ThresholdSet& s) { s.automation = Automation::kApproval; }},
      {"max_traffic_percent", [](ThresholdSet& s) { s.max_traffic_percent = 26; }},
      {"allow_shared_infrastructure", [](ThresholdSet& s) { s.allow_shared_infrastructure = true; }},
      {"max_auto_rollbacks", [](ThresholdSet& s) { s.max_auto_rollbacks = 4; }},
      {"budget_per", [](ThresholdSet& s) { s.budget_per = Millis(3'600'001); }},
      {"approval_ttl", [](ThresholdSet& s) { s.approval_ttl = Millis(7'100'000); }},
      {"window", [](ThresholdSet& s) { s.evaluation.window = Millis(300'500); }},
      {"min_samples", [](ThresholdSet& s) { s.evaluation.min_samples = 21; }},
      {"max_staleness", [](ThresholdSet& s) { s.evaluation.max_staleness = Millis(61'000); }},
      {"breach_for", [](ThresholdSet& s) { s.evaluation.breach_for = Millis(0); }},
      {"duration", [](ThresholdSet& s) { s.evaluation.duration = Millis(1'800'001); }},
      {"flap_limit", [](ThresholdSet& s) { s.evaluation.flap_limit = 4; }},
      {"signal name", [](ThresholdSet& s) { s.signals[0].name = "http_5xx"; }},
      {"critical", [](ThresholdSet& s) { s.signals[0].critical = false; }},
      {"aggregate", [](ThresholdSet& s) { s.signals[0].aggregate = AggregateKind::kMax; }},
      {"bad_when", [](ThresholdSet& s) { s.signals[1].bad_when = BadWhen::kAbove; }},
      {"max", [](ThresholdSet& s) { s.signals[0].max = 0.050000001; }},
      {"min", [](ThresholdSet& s) { s.signals[1].min = 0.999; }},
      {"baseline removed", [](ThresholdSet& s) { s.signals[0].baseline.reset(); }},
      {"ratio", [](ThresholdSet& s) { s.signals[0].baseline->ratio = 2.5; }},
      {"min_delta", [](ThresholdSet& s) { s.signals[0].baseline->min_delta = 0.02; }},
      {"test", [](ThresholdSet& s) { s.signals[0].baseline->test = StatTest::kNone; }},
      {"confidence", [](ThresholdSet& s) { s.signals[0].baseline->confidence = 0.99; }},
      {"sources_tolerance", [](ThresholdSet& s) { s.signals[0].sources_tolerance = 0.25; }},
      {"signal order", [](ThresholdSet& s) { std::swap(s.signals[0], s.signals[1]); }},
      {"signal removed", [](ThresholdSet& s) { s.signals.pop_back(); }},
  };
  for (const auto& [what, mutate] : mutations) {
    ThresholdSet changed = base;
    mutate(changed);
    EXPECT_NE(ContentSha256(changed), base_sha) << what;
  }
}

// ---- directories -----------------------------------------------------------------

using backstop::testing::TempDir;

std::vector<std::string> FileNames(const DirectoryResult& result) {
  std::vector<std::string> names;
  for (const auto& f : result.files) names.push_back(f.file);
  return names;
}

TEST(ThresholdDirectoryTest, ParsesYamlAndYmlFilesSortedByName) {
  TempDir dir;
  dir.Write("b.yml", Replace(kMinimal, "release_class: web", "release_class: b"));
  dir.Write("a.yaml", Replace(kMinimal, "release_class: web", "release_class: a"));
  dir.Write("README.md", "not a threshold file");
  dir.Write("c.yaml.bak", "not: valid");
  dir.Write(".hidden.yaml", "not: valid");
  std::filesystem::create_directory(dir.path() + "/nested.yaml");
  const DirectoryResult result = ParseThresholdDirectory(dir.path());
  EXPECT_TRUE(result.directory_readable);
  EXPECT_EQ(FileNames(result), (std::vector<std::string>{"a.yaml", "b.yml"}));
  ASSERT_EQ(result.files.size(), 2u);
  ASSERT_TRUE(result.files[0].result.set.has_value());
  EXPECT_EQ(result.files[0].result.set->release_class, "a");
  ASSERT_TRUE(result.files[1].result.set.has_value());
  EXPECT_EQ(result.files[1].result.set->release_class, "b");
}

TEST(ThresholdDirectoryTest, KeepsParsingAfterAnInvalidFile) {
  TempDir dir;
  dir.Write("a.yaml", "version: [\n");
  dir.Write("b.yaml", Replace(kMinimal, "version: 1", "version: 0"));
  dir.Write("c.yaml", kMinimal);
  const DirectoryResult result = ParseThresholdDirectory(dir.path());
  ASSERT_EQ(result.files.size(), 3u);
  ASSERT_EQ(result.files[0].result.errors.size(), 1u);
  EXPECT_EQ(result.files[0].result.errors[0].file, "a.yaml");
  EXPECT_EQ(result.files[0].result.errors[0].field, "(yaml)");
  EXPECT_EQ(result.files[1].result.errors,
            (std::vector<ValidationError>{{"b.yaml", "version", "must be a positive integer"}}));
  EXPECT_TRUE(result.files[2].result.set.has_value());
}

TEST(ThresholdDirectoryTest, NamesTheFileAndLineOfAStrayLeadingComma) {
  TempDir dir;
  dir.Write("comma.yaml", std::string(",\n") + kMinimal);
  dir.Write("good.yaml", kMinimal);
  const DirectoryResult result = ParseThresholdDirectory(dir.path());
  ASSERT_EQ(result.files.size(), 2u);
  EXPECT_EQ(result.files[0].result.errors,
            (std::vector<ValidationError>{
                {"comma.yaml", "(yaml)", "invalid YAML at line 1, column 1: unexpected \",\""}}));
  EXPECT_TRUE(result.files[1].result.set.has_value());
}

TEST(ThresholdDirectoryTest, RejectsTheSecondFileWithTheSameClassAndVersion) {
  TempDir dir;
  dir.Write("a.yaml", kMinimal);
  dir.Write("b.yaml", kMinimal);
  dir.Write("c.yaml", Replace(kMinimal, "version: 1", "version: 2"));
  const DirectoryResult result = ParseThresholdDirectory(dir.path());
  ASSERT_EQ(result.files.size(), 3u);
  EXPECT_TRUE(result.files[0].result.set.has_value());
  EXPECT_FALSE(result.files[1].result.set.has_value());
  EXPECT_EQ(result.files[1].result.errors,
            (std::vector<ValidationError>{
                {"b.yaml", "version", "release_class web version 1 is also defined in a.yaml"}}));
  EXPECT_TRUE(result.files[2].result.set.has_value());
}

TEST(ThresholdDirectoryTest, ReportsAMissingDirectoryAsOneError) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing";
  const DirectoryResult result = ParseThresholdDirectory(missing);
  EXPECT_FALSE(result.directory_readable);
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(result.files[0].file, missing);
  ASSERT_EQ(result.files[0].result.errors.size(), 1u);
  EXPECT_EQ(result.files[0].result.errors[0].file, missing);
  EXPECT_EQ(result.files[0].result.errors[0].field, "(directory)");
  EXPECT_EQ(result.files[0].result.errors[0].reason.rfind("cannot read directory: ", 0), 0u);
}

TEST(ThresholdDirectoryTest, ReturnsNoFilesForAnEmptyDirectory) {
  TempDir dir;
  const DirectoryResult result = ParseThresholdDirectory(dir.path());
  EXPECT_TRUE(result.directory_readable);
  EXPECT_TRUE(result.files.empty());
}

TEST(ThresholdDirectoryTest, RejectsAFileLargerThanOneMebibyte) {
  TempDir dir;
  dir.Write("big.yaml", std::string(kMinimal) + "# " + std::string(1024 * 1024, 'x') + "\n");
  const DirectoryResult result = ParseThresholdDirectory(dir.path());
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(result.files[0].result.errors,
            (std::vector<ValidationError>{{"big.yaml", "(file)", "is larger than 1 MiB"}}));
}

}  // namespace
}  // namespace backstop::policy
