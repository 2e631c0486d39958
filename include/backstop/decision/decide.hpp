#pragma once

#include <vector>

#include "backstop/common/role.hpp"
#include "backstop/decision/evaluate.hpp"

namespace backstop::decision {

enum class DecisionKind { kNone, kAutoRollback, kEscalate, kWouldRollback, kWouldEscalate, kHealthy };
std::string_view ToString(DecisionKind k);

// What a human is asked to approve: roll back to the previous version, or,
// for irreversible classes, contain (stop the rollout, no automatic undo).
enum class ProposedActionType { kRollback, kContain };
std::string_view ToString(ProposedActionType t);

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
