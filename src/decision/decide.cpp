#include "backstop/decision/decide.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

#include "backstop/common/wire_table.hpp"
#include "backstop/decision/conflicts.hpp"
#include "backstop/decision/signal_history.hpp"

namespace backstop::decision {

namespace {

constexpr WireTable<DecisionKind, 6> kDecisionKinds{{
    {DecisionKind::kNone, "none"},
    {DecisionKind::kAutoRollback, "auto_rollback"},
    {DecisionKind::kEscalate, "escalate"},
    {DecisionKind::kWouldRollback, "would_rollback"},
    {DecisionKind::kWouldEscalate, "would_escalate"},
    {DecisionKind::kHealthy, "healthy"},
}};

constexpr WireTable<ProposedActionType, 2> kProposedActionTypes{{
    {ProposedActionType::kRollback, "rollback"},
    {ProposedActionType::kContain, "contain"},
}};

DecisionKind Escalation(Mode mode) {
  return mode == Mode::kDryRun ? DecisionKind::kWouldEscalate : DecisionKind::kEscalate;
}

}  // namespace

std::string_view ToString(DecisionKind k) { return WireName(kDecisionKinds, k); }
std::optional<DecisionKind> ParseDecisionKind(std::string_view text) {
  auto k = ParseWire(kDecisionKinds, text);
  if (k == DecisionKind::kNone) return std::nullopt;  // "none" is never stored
  return k;
}

std::string_view ToString(ProposedActionType t) { return WireName(kProposedActionTypes, t); }
std::optional<ProposedActionType> ParseProposedActionType(std::string_view text) {
  return ParseWire(kProposedActionTypes, text);
}

// The decision, in order:
// 1. Something counts — a critical signal's breach held for breach_for, or a
//    conflict of a critical signal held for breach_for. The release rolls back
//    by itself only when nothing stands in the way; otherwise it escalates
//    with every reason that stands in the way (so an approver sees the whole
//    picture, e.g. budget.exhausted even for an `approval` class). Any
//    conflict present blocks automation, counted or not.
// 2. Nothing counts and evaluation.duration has passed since the start: every
//    critical signal pass (and no conflict present) -> healthy; a critical
//    signal insufficient or stale -> escalate with only the telemetry reasons
//    (plus mode.freeze when frozen): there is no breach for the policy and
//    blast-radius reasons to qualify. A breach or conflict that has not
//    counted yet waits: it either counts or clears on a later run.
// 3. Otherwise nothing: before `duration`, thin or missing data alone never
//    escalates.
// dry_run turns auto_rollback/escalate into would_rollback/would_escalate
// with the same reasons; `healthy` is not an action and stays `healthy` in
// every mode. freeze adds mode.freeze, so what would roll back escalates.
Decision Decide(const ReleaseFacts& release, const policy::ThresholdSet& thresholds,
                const TelemetrySnapshot& telemetry, const DecisionContext& context,
                const EvaluationHistory& previous) {
  const TimePoint now = context.now;
  const policy::EvaluationRule& rules = thresholds.evaluation;

  Decision decision;
  decision.proposed = thresholds.reversibility == policy::Reversibility::kIrreversible
                          ? ProposedActionType::kContain
                          : ProposedActionType::kRollback;
  Evaluation& evaluation = decision.evaluation;
  evaluation.evaluated_at = now;

  // Evaluated like EvaluateSignals, series by series, so each (signal,
  // source)'s history is advanced with the canary samples it was judged on.
  const bool previous_version_known = release.previous_version.has_value();
  bool breach_counted = false;
  bool any_breach = false;
  bool any_insufficient = false;
  bool any_stale = false;
  std::deque<SeriesPair> merged;  // SeriesOf's merged pairs, alive through the loop
  for (const policy::SignalRule& rule : thresholds.signals) {
    for (const SeriesPair* pair : SeriesOf(rule, telemetry, merged)) {
      const SeriesPair& series = *pair;
      const SignalEvaluation& s =
          evaluation.signals.emplace_back(EvaluateSeries(rule, rules, series, previous_version_known, now));
      std::pair<std::string, std::string> key{s.name, s.source};
      const auto it = previous.signals.find(key);
      SignalHistory history = AdvanceSignalHistory(it != previous.signals.end() ? it->second : SignalHistory{},
                                                   rule, rules, s.state, series.canary, now);
      if (s.critical) {
        breach_counted = breach_counted || BreachCounts(history, s.state, now, rules.breach_for);
        any_breach = any_breach || s.state == SignalState::kBreach;
        any_insufficient = any_insufficient || s.state == SignalState::kInsufficient;
        any_stale = any_stale || s.state == SignalState::kStale;
      }
      // Only (signal, source) pairs evaluated now are remembered; a source that
      // left the snapshot forgets its history.
      decision.history.signals[std::move(key)] = std::move(history);
    }
  }

  evaluation.conflicts = DetectConflicts(evaluation.signals, thresholds, decision.history);
  decision.history.conflict_since = AdvanceConflictSince(previous.conflict_since, evaluation.conflicts, now);
  const bool conflict_counted = std::any_of(evaluation.conflicts.begin(), evaluation.conflicts.end(),
                                            [&](ReasonCode code) {
                                              return now - decision.history.conflict_since.at(code) >= rules.breach_for;
                                            });

  // DESIGN: "The release verdict is insufficient when a critical signal is
  // insufficient or stale" — even if another breaches; a conflict still
  // says more about trust than either.
  if (!evaluation.conflicts.empty()) {
    evaluation.verdict = Verdict::kConflict;
  } else if (any_insufficient || any_stale) {
    evaluation.verdict = Verdict::kInsufficient;
  } else if (any_breach) {
    evaluation.verdict = Verdict::kBreach;
  } else {
    evaluation.verdict = Verdict::kPass;
  }

  const bool frozen = context.mode == Mode::kFreeze;
  std::set<ReasonCode> reasons;  // ordered like the enum, no duplicates
  const auto add_telemetry_reasons = [&] {
    if (any_insufficient) reasons.insert(ReasonCode::kTelemetryInsufficient);
    if (any_stale) reasons.insert(ReasonCode::kTelemetryStale);
    if (frozen) reasons.insert(ReasonCode::kModeFreeze);
  };

  if (breach_counted || conflict_counted) {
    if (breach_counted) reasons.insert(ReasonCode::kSignalBreach);
    switch (thresholds.automation) {
      case policy::Automation::kAuto:
        // Validation forbids auto for these classes; should one slip through,
        // a human decides.
        if (!policy::AllowsAutomaticRollback(thresholds.reversibility)) {
          reasons.insert(ReasonCode::kPolicyApprovalRequired);
        }
        break;
      case policy::Automation::kApproval: reasons.insert(ReasonCode::kPolicyApprovalRequired); break;
      case policy::Automation::kDualApproval: reasons.insert(ReasonCode::kPolicyDualApprovalRequired); break;
    }
    if (release.traffic_percent > thresholds.max_traffic_percent) {
      reasons.insert(ReasonCode::kBlastRadiusTrafficExceedsLimit);
    }
    if (release.shared_infrastructure && !thresholds.allow_shared_infrastructure) {
      reasons.insert(ReasonCode::kBlastRadiusSharedInfrastructure);
    }
    if (context.auto_rollbacks_in_window >= thresholds.max_auto_rollbacks) {
      reasons.insert(ReasonCode::kBudgetExhausted);
    }
    if (!release.previous_version) reasons.insert(ReasonCode::kTargetUnknown);
    reasons.insert(evaluation.conflicts.begin(), evaluation.conflicts.end());
    add_telemetry_reasons();

    const bool automatic = reasons.size() == 1 && *reasons.begin() == ReasonCode::kSignalBreach;
    if (automatic) {
      decision.kind = context.mode == Mode::kDryRun ? DecisionKind::kWouldRollback : DecisionKind::kAutoRollback;
    } else {
      decision.kind = Escalation(context.mode);
    }
  } else if (now >= release.started_at + rules.duration) {
    if (evaluation.verdict == Verdict::kPass) {
      decision.kind = DecisionKind::kHealthy;
    } else if (any_insufficient || any_stale) {
      add_telemetry_reasons();
      decision.kind = Escalation(context.mode);
    }
  }

  decision.reasons.assign(reasons.begin(), reasons.end());
  return decision;
}

}  // namespace backstop::decision
