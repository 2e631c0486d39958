#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"
#include "backstop/config/config.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/action_repository.hpp"

// An action's life after it was queued: a worker claims an attempt, runs the
// executor outside any transaction, then records what happened. Claims and
// outcomes are fenced on (lease owner, attempt), so a worker whose lease was
// taken over changes nothing.
namespace backstop::workflow {

// Claims the next due action for `worker` under a lease of `lease`, records
// the attempt row and audits `action.attempted`. nullopt when none is due.
std::optional<store::ClaimedAction> ClaimNextAction(pqxx::work& tx, const std::string& worker, Millis lease);

struct AttemptReport {
  actions::ExecutionResult result;
  double seconds = 0;
  int max_attempts = 1;
  std::string executor;   // the executor's type, or "none"
  double jitter = 0;      // uniform in [0, 1): full-jitter backoff
  // A gate action: the orchestrator it was handed out to (argo-rollouts,
  // flagger); recorded on its action.succeeded entry.
  std::optional<std::string> picked_up_by;
};

struct RecordedOutcome {
  bool stale = false;  // the lease was taken over: nothing was written
  domain::ActionState state = domain::ActionState::kFailed;
};

// Records an attempt's outcome: succeeded → the release is `rolled_back`;
// retry → pending again after an exponential backoff; failed (or retry past
// max_attempts) → the release is `rollback_failed` and a `rollback.failed`
// escalation asks a human (unless one is pending). Audited either way;
// action.succeeded and action.failed are notified.
RecordedOutcome RecordActionOutcome(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                    const config::Notifiers& notifiers, const std::string& worker,
                                    const store::ClaimedAction& claimed, const AttemptReport& report);

}  // namespace backstop::workflow
