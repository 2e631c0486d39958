#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "backstop/domain/mode.hpp"
#include "backstop/decision/evaluate.hpp"

namespace backstop::decision {

// What an evaluation decided; the wire strings are the `decision` of a
// release's decisions and the suffix of the `decision.*` audit kinds.
enum class DecisionKind {
  kNone,           // none: nothing to decide yet (never stored)
  kAutoRollback,   // auto_rollback: roll back now, inside the bounds
  kEscalate,       // escalate: a human decides
  kWouldRollback,  // would_rollback: dry_run record of an auto_rollback
  kWouldEscalate,  // would_escalate: dry_run record of an escalation
  kHealthy,        // healthy: verified for evaluation.duration
};
std::string_view ToString(DecisionKind k);
std::optional<DecisionKind> ParseDecisionKind(std::string_view text);
inline bool IsDryRun(DecisionKind k) { return k == DecisionKind::kWouldRollback || k == DecisionKind::kWouldEscalate; }

// What a human is asked to approve: roll back to the previous version, or,
// for irreversible classes, contain (stop the rollout, no automatic undo).
// The same two words type an action.
enum class ProposedActionType {
  kRollback,  // rollback: to the previous version
  kContain,   // contain: stop the rollout; people carry it out
};
std::string_view ToString(ProposedActionType t);
std::optional<ProposedActionType> ParseProposedActionType(std::string_view text);

struct DecisionContext {
  TimePoint now{};
  Mode mode = Mode::kNormal;
  int auto_rollbacks_in_window = 0;  // class auto-rollbacks in this environment within budget.per
};

struct Decision {
  DecisionKind kind = DecisionKind::kNone;
  std::vector<ReasonCode> reasons;     // every reason that applied, in ReasonCode order
  ProposedActionType proposed = ProposedActionType::kRollback;
  Evaluation evaluation;
  EvaluationHistory history;           // to pass as `previous` next time
};

// The pure core: evaluates every signal and source, detects conflicts,
// applies breach_for, and decides. No I/O, no clock, no globals.
[[nodiscard]] Decision Decide(const ReleaseFacts& release, const policy::ThresholdSet& thresholds,
                              const TelemetrySnapshot& telemetry, const DecisionContext& context,
                              const EvaluationHistory& previous);

}  // namespace backstop::decision
