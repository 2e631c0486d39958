#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backstop/common/duration.hpp"

namespace backstop::policy {

// How a release class can be undone (DESIGN "Threshold files").
enum class Reversibility {
  kTriviallyReversible,
  kReversibleWithState,
  kReversibleWithBackup,
  kPartiallyReversible,
  kIrreversible,
};

// Who may act on a counted breach: the controller alone, one human, two humans.
enum class Automation { kAuto, kApproval, kDualApproval };

enum class AggregateKind { kMean, kMax, kLast };
enum class BadWhen { kAbove, kBelow };
enum class StatTest { kNone, kMannWhitney };

std::string_view ToString(Reversibility r);
std::string_view ToString(Automation a);
std::string_view ToString(AggregateKind a);
std::string_view ToString(BadWhen b);
std::string_view ToString(StatTest t);

// The inverse of ToString: the wire/YAML spelling to the enum; nullopt for
// anything else (exact, case-sensitive match).
std::optional<Reversibility> ParseReversibility(std::string_view text);
std::optional<Automation> ParseAutomation(std::string_view text);
std::optional<AggregateKind> ParseAggregateKind(std::string_view text);
std::optional<BadWhen> ParseBadWhen(std::string_view text);
std::optional<StatTest> ParseStatTest(std::string_view text);

// Whether `automation: auto` is allowed at all for a class this reversible
// (DESIGN "Reversibility bounds automation").
inline bool AllowsAutomaticRollback(Reversibility r) {
  return r == Reversibility::kTriviallyReversible || r == Reversibility::kReversibleWithState;
}

// Optional comparison of the canary with the previous version's series.
struct BaselineRule {
  double ratio = 2.0;        // > 1: breach if canary > baseline * ratio (below: < baseline / ratio)
  double min_delta = 0.0;    // ... and |canary - baseline| >= min_delta
  StatTest test = StatTest::kMannWhitney;
  double confidence = 0.95;  // 0.5 < confidence < 1; p must be < 1 - confidence

  bool operator==(const BaselineRule&) const = default;
};

struct SignalRule {
  std::string name;
  bool critical = true;                  // critical signals decide; others are evidence only
  AggregateKind aggregate = AggregateKind::kMean;
  BadWhen bad_when = BadWhen::kAbove;
  std::optional<double> max;             // absolute bound, required when bad_when is above
  std::optional<double> min;             // absolute bound, required when bad_when is below
  std::optional<BaselineRule> baseline;
  double sources_tolerance = 0.5;        // relative difference between sources' aggregates
  // Telemetry source name (config `telemetry_sources`) -> the PromQL instant
  // query that yields this signal for every release at once (INTEGRATIONS §1).
  // Ordered, so the canonical JSON is deterministic.
  std::map<std::string, std::string> queries;

  bool operator==(const SignalRule&) const = default;
};

struct EvaluationRule {
  Millis window{0};                      // required
  int min_samples = 0;                   // required, >= 1
  Millis max_staleness = Millis(60000);
  Millis breach_for = Millis(30000);
  Millis duration = Millis(1800000);
  int flap_limit = 3;

  bool operator==(const EvaluationRule&) const = default;
};

// One versioned threshold set: (release_class, version) identifies it forever.
// Plain value; every field is set (defaults filled) after parsing.
struct ThresholdSet {
  std::string release_class;
  std::int64_t version = 0;
  std::string description;
  Reversibility reversibility = Reversibility::kIrreversible;
  Automation automation = Automation::kApproval;
  int max_traffic_percent = 25;          // blast_radius.max_traffic_percent, 0..100
  bool allow_shared_infrastructure = false;
  int max_auto_rollbacks = 5;            // budget.max_auto_rollbacks, >= 0
  Millis budget_per = Millis(3600000);   // budget.per
  Millis approval_ttl = Millis(7200000); // approval.ttl
  EvaluationRule evaluation;
  std::vector<SignalRule> signals;       // at least one, unique names

  // Approvals needed to act on an escalation of this class: 2 for
  // dual_approval, else 1.
  int RequiredApprovals() const { return automation == Automation::kDualApproval ? 2 : 1; }

  // Field-by-field equality. For sets that passed validation this holds
  // exactly when their CanonicalJson (policy/threshold_parser.hpp) is
  // byte-identical.
  bool operator==(const ThresholdSet&) const = default;
};

}  // namespace backstop::policy
