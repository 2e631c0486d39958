#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/config/config.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/decision/reason_code.hpp"
#include "backstop/domain/mode.hpp"
#include "backstop/domain/states.hpp"

// Backstop as the judge a rollout tool calls (INTEGRATIONS.md §2): the
// answer tables of the Argo Rollouts gate and the Flagger hooks, and when a
// gate action waited too long. Pure: the workflow gathers the facts under the
// release lock, these functions answer, the workflow writes.
namespace backstop::integrations {

// What the orchestrator is told to do with its rollout.
enum class Gate {
  kProceed,   // proceed: go on (Argo: Successful measurement)
  kHold,      // hold: wait for a human (Argo: neither condition true → Inconclusive → paused)
  kRollback,  // rollback: abort; the orchestrator's own abort is the rollback
};
std::string_view ToString(Gate g);

// The orchestrators that pick up gate actions (the `picked_up_by` of their audit).
enum class Orchestrator {
  kArgoRollouts,  // argo-rollouts
  kFlagger,       // flagger
};
std::string_view ToString(Orchestrator o);

// An escalation as the gate sees it.
struct EscalationFact {
  std::string id;
  std::vector<decision::ReasonCode> reasons;
};

// The release's newest rollback action.
struct RollbackFact {
  domain::ActionState state = domain::ActionState::kPending;
  domain::DecidedBy decided_by = domain::DecidedBy::kAuto;
  bool gate_executor = false;  // executor `gate`: waits for a gate answer to hand it out
  std::vector<decision::ReasonCode> reasons;
  std::optional<std::string> escalation_id;  // set when an approval queued it
};

// Everything the answer depends on, read in one transaction under the release lock.
struct GateFacts {
  domain::ReleaseStatus status = domain::ReleaseStatus::kEvaluating;
  Mode mode = Mode::kNormal;
  std::optional<EscalationFact> pending_escalation;
  std::optional<EscalationFact> latest_escalation;  // newest of any state
  std::optional<RollbackFact> rollback;
  // The dry-run record of the release's current episode, if any
  // (would_rollback wins over would_escalate).
  std::optional<decision::DecisionKind> dry_run;
};

struct GateAnswer {
  Gate gate = Gate::kProceed;
  // The pending escalation's reasons (hold) or the rollback decision's
  // (rollback); otherwise what holds the rollout (mode.freeze,
  // rollback.failed) or nothing.
  std::vector<decision::ReasonCode> reasons;
  std::optional<std::string> escalation_id;  // the pending, or the approving, escalation
  std::optional<Gate> would;                 // dry_run: what normal mode would answer
  bool hand_out = false;                     // a pending gate action is handed out with this answer
};

// The Argo Rollouts gate table (INTEGRATIONS.md §2.1), in this order:
//  1. rolled_back → rollback.
//  2. rolling_back → rollback, handing out a pending gate action — except an
//     automatic action not yet started while frozen (freeze stops automatic
//     actions only) → hold, mode.freeze.
//  3. a pending escalation → hold, with its reasons and id.
//  4. rollback_failed (no question pending) → hold, rollback.failed.
//  5. escalated (its question expired, the next evaluation asks again) →
//     hold, with the newest escalation's reasons.
//  6. mode freeze → hold, mode.freeze (deny-all: nothing advances).
//  7. superseded → hold: the release is no longer evaluated, so nothing
//     vouches for it.
//  8. healthy, rollback_rejected → proceed.
//  9. evaluating → proceed (pass, or thin data before `duration`); in
//     dry_run with a would_rollback record `would: rollback`, with
//     would_escalate `would: hold` (a counted conflict or an escalation
//     that dry_run only records).
[[nodiscard]] GateAnswer AnswerGate(const GateFacts& facts);

// The Flagger hooks (INTEGRATIONS.md §2.2), by the path segment Flagger is given.
enum class FlaggerHook {
  kConfirmRollout,    // confirm-rollout
  kPreRollout,        // pre-rollout
  kRollout,           // rollout
  kConfirmPromotion,  // confirm-promotion
  kRollback,          // rollback
  kPostRollout,       // post-rollout
  kEvent,             // event
};
std::string_view ToString(FlaggerHook h);
std::optional<FlaggerHook> ParseFlaggerHook(std::string_view text);
// "confirm-rollout, pre-rollout, ...", for a 404 naming the hooks.
std::string FlaggerHookNames();

struct HookAnswer {
  int http_status = 200;  // 200, 202 or 403 (Flagger counts 200-202 as yes)
  std::string code;       // error code of a 403
  std::string message;    // for the Flagger event log (it logs the body of a "no")
  std::vector<decision::ReasonCode> reasons;  // the 403's details
  bool hand_out = false;      // the rollback hook hands out the gate action
  bool record_event = false;  // post-rollout, event: audited as integration.event
};

// The Flagger table:
//   pre-rollout        200 (the release is registered)
//   confirm-rollout    403 frozen [mode.freeze] in freeze, else 200
//   rollout            403 rollback_decided when the gate says rollback, else 200
//                      (a "no" here counts toward Flagger's own failure threshold,
//                      so holding is not a "no")
//   confirm-promotion  200 only when the release is healthy or rollback_rejected
//                      and the gate says proceed (not frozen); else 403 not_promotable
//   rollback           200 only when the gate says rollback, handing out the
//                      gate action; else 403 no_rollback_decided
//   post-rollout, event 202, recorded
[[nodiscard]] HookAnswer AnswerFlaggerHook(FlaggerHook hook, domain::ReleaseStatus status, Mode mode,
                                           const GateAnswer& gate);

// Why a pending gate action of `service`, queued `age` ago, fails now, or
// nullopt while it may still be handed out: the matching executor's timeout
// passed, or the service no longer matches a gate executor (nothing would
// ever hand it out).
[[nodiscard]] std::optional<std::string> GateActionOverdue(const config::Config& config, const std::string& service,
                                                           Millis age);

}  // namespace backstop::integrations
