#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"
#include "backstop/integrations/gate_answer.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/release_repository.hpp"

// Backstop as the gate of a rollout tool (INTEGRATIONS.md §2). A gate call
// registers its release like a deployment, gathers the facts under the
// release row lock, answers with the pure tables of integrations/
// gate_answer, and — when the answer is a rollback — hands the release's
// pending `gate` action out: the action is claimed and recorded `succeeded`
// through the same claim/complete path as every executor's
// (workflow/action_outcome), so the release becomes `rolled_back` as with
// any executor. A gate action nobody picks up fails after its executor's
// timeout through that path's failure branch: `rollback_failed` and a
// `rollback.failed` escalation. No second state machine.
namespace backstop::workflow {

struct HandedOut {
  std::string action_id;
  std::string decided_by;  // auto | approval
};

// What a gate call saw and did.
struct GateOutcome {
  store::Release release;  // as the call leaves it
  integrations::GateFacts facts;
  integrations::GateAnswer answer;
  bool registered = false;       // this call registered the release
  bool traffic_changed = false;  // this call changed traffic_percent
  std::optional<HandedOut> handed_out;
  std::optional<std::string> newest_evidence;  // evidence JSON of the newest decision, if any
};

// POST /v1/integrations/argo-rollouts/gate. Registers the release unless its
// id exists (the body, traffic_percent aside, must match: else 409), applies
// a changed traffic_percent to a release in progress, answers the Argo gate
// table and, with a rollback answer, hands out the pending gate action to
// argo-rollouts. `release.request_body` must leave traffic_percent out.
// The caller commits `tx`.
Result<GateOutcome> CallArgoRolloutsGate(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                         const config::Notifiers& notifiers, const store::NewRelease& release,
                                         const std::string& actor);

struct HookOutcome {
  GateOutcome gate;
  integrations::HookAnswer answer;
};

// POST /v1/integrations/flagger/{hook}. Registers the release like the Argo
// gate, answers the Flagger table for `hook`; the rollback hook answered 200
// hands out the pending gate action to flagger; post-rollout and event are
// audited as integration.event with `event` (which carries no token).
Result<HookOutcome> CallFlaggerHook(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                    const config::Notifiers& notifiers, const store::NewRelease& release,
                                    const std::string& actor,
                                    integrations::FlaggerHook hook, const boost::json::object& event);

// Hands the release's pending gate action out to `by`: claimed, audited
// `action.handed_out`, then recorded succeeded by RecordActionOutcome
// (`action.succeeded` with picked_up_by; the release becomes rolled_back).
// The caller holds the release row lock. nullopt when none is pending.
std::optional<HandedOut> HandOutGateAction(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                           const config::Notifiers& notifiers, const std::string& release_id,
                                           integrations::Orchestrator by);

struct FailedGateAction {
  std::string action_id;
  std::string release_id;
  std::string decided_by;
  std::string error;
};

// The timeout sweep: fails every pending gate action that is overdue
// (integrations::GateActionOverdue) through RecordActionOutcome's failure
// branch, each in its own transaction on `conn` (release row first, the
// lock order every writer follows). Safe to run in several processes at
// once: an action is claimed only while still pending.
std::vector<FailedGateAction> FailOverdueGateActions(pqxx::connection& conn, const config::Config& config,
                                                     const policy::PolicyRegistry& registry,
                                                     const std::string& worker);

}  // namespace backstop::workflow
