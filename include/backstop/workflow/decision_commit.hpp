#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/config/config.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/policy/threshold_set.hpp"

namespace backstop::workflow {

// The evaluator lease a decision is fenced by: a process that lost it
// decides nothing (DESIGN "Several processes, one database").
struct LeaseFence {
  std::string owner;
  std::int64_t epoch = 0;
};

// What the evaluator brings to the deciding transaction: the inputs of the
// pure core, gathered outside the transaction.
struct DecisionInput {
  std::string release_id;
  const policy::ThresholdSet& thresholds;
  const decision::TelemetrySnapshot& telemetry;
  const decision::EvaluationHistory& history;
  TimePoint now{};
  std::string executor;  // the type of executor that would run a rollback
};

// What a committed decision changed, for the in-memory state and metrics.
struct CommittedDecision {
  decision::DecisionKind kind = decision::DecisionKind::kNone;  // kNone: nothing written
  domain::ReleaseStatus status = domain::ReleaseStatus::kEvaluating;
  std::vector<decision::ReasonCode> reasons;
  bool already_decided = false;  // this episode already holds this decision
};

// The deciding transaction. Locks the release row and re-checks that it is
// evaluable with no pending escalation, reads the mode FOR SHARE (a
// concurrent switch to freeze waits for this decision, or this decision sees
// the freeze), counts the class budget under its lock, decides again with
// the database's mode and budget, and writes the decision with either an
// action or an escalation, the release's new status and the audit entry.
// Duplicate or concurrent evaluations create nothing twice (one decision
// per episode, by a unique index). An escalation is notified. The caller
// commits `tx`.
CommittedDecision CommitDecision(pqxx::work& tx, const LeaseFence& fence, const config::Notifiers& notifiers,
                                 const DecisionInput& input);

// Post-rollback verification found the restored version still breaching:
// opens the release's one `rollback.ineffective` escalation (fenced like a
// decision). False when fenced out, no longer rolled back, or already asked.
bool CommitIneffectiveRollback(pqxx::work& tx, const LeaseFence& fence, const config::Notifiers& notifiers,
                               const std::string& release_id, const policy::ThresholdSet& thresholds,
                               const decision::Evaluation& evidence);

}  // namespace backstop::workflow
