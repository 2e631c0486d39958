#include "backstop/integrations/gate_answer.hpp"

#include "backstop/common/wire_table.hpp"
#include "backstop/config/executor_match.hpp"

namespace backstop::integrations {

namespace {

using decision::ReasonCode;
using domain::ReleaseStatus;

constexpr WireTable<Gate, 3> kGates{{
    {Gate::kProceed, "proceed"},
    {Gate::kHold, "hold"},
    {Gate::kRollback, "rollback"},
}};

constexpr WireTable<Orchestrator, 2> kOrchestrators{{
    {Orchestrator::kArgoRollouts, "argo-rollouts"},
    {Orchestrator::kFlagger, "flagger"},
}};

constexpr WireTable<FlaggerHook, 7> kFlaggerHooks{{
    {FlaggerHook::kConfirmRollout, "confirm-rollout"},
    {FlaggerHook::kPreRollout, "pre-rollout"},
    {FlaggerHook::kRollout, "rollout"},
    {FlaggerHook::kConfirmPromotion, "confirm-promotion"},
    {FlaggerHook::kRollback, "rollback"},
    {FlaggerHook::kPostRollout, "post-rollout"},
    {FlaggerHook::kEvent, "event"},
}};

GateAnswer Hold(std::vector<ReasonCode> reasons, std::optional<std::string> escalation_id = std::nullopt) {
  GateAnswer a;
  a.gate = Gate::kHold;
  a.reasons = std::move(reasons);
  a.escalation_id = std::move(escalation_id);
  return a;
}

GateAnswer Rollback(const std::optional<RollbackFact>& action) {
  GateAnswer a;
  a.gate = Gate::kRollback;
  if (action) {
    a.reasons = action->reasons;
    a.escalation_id = action->escalation_id;
  }
  return a;
}

std::string StatusText(ReleaseStatus s) { return std::string(domain::ToString(s)); }

}  // namespace

std::string_view ToString(Gate g) { return WireName(kGates, g); }
std::string_view ToString(Orchestrator o) { return WireName(kOrchestrators, o); }
std::string_view ToString(FlaggerHook h) { return WireName(kFlaggerHooks, h); }
std::optional<FlaggerHook> ParseFlaggerHook(std::string_view text) { return ParseWire(kFlaggerHooks, text); }
std::string FlaggerHookNames() { return JoinWireNames(kFlaggerHooks); }

GateAnswer AnswerGate(const GateFacts& f) {
  if (f.status == ReleaseStatus::kRolledBack) return Rollback(f.rollback);
  if (f.status == ReleaseStatus::kRollingBack) {
    const bool waiting_auto = f.rollback && f.rollback->state == domain::ActionState::kPending &&
                              f.rollback->decided_by == domain::DecidedBy::kAuto;
    if (waiting_auto && f.mode == Mode::kFreeze) return Hold({ReasonCode::kModeFreeze});
    GateAnswer a = Rollback(f.rollback);
    a.hand_out = f.rollback && f.rollback->state == domain::ActionState::kPending && f.rollback->gate_executor;
    return a;
  }
  if (f.pending_escalation) return Hold(f.pending_escalation->reasons, f.pending_escalation->id);
  if (f.status == ReleaseStatus::kRollbackFailed) return Hold({ReasonCode::kRollbackFailed});
  if (f.status == ReleaseStatus::kEscalated) {
    return Hold(f.latest_escalation ? f.latest_escalation->reasons : std::vector<ReasonCode>{});
  }
  if (f.mode == Mode::kFreeze) return Hold({ReasonCode::kModeFreeze});
  if (f.status == ReleaseStatus::kSuperseded) return Hold({});
  GateAnswer a;  // proceed
  if (f.status == ReleaseStatus::kEvaluating && f.dry_run) {
    if (*f.dry_run == decision::DecisionKind::kWouldRollback) a.would = Gate::kRollback;
    if (*f.dry_run == decision::DecisionKind::kWouldEscalate) a.would = Gate::kHold;
  }
  return a;
}

HookAnswer AnswerFlaggerHook(FlaggerHook hook, ReleaseStatus status, Mode mode, const GateAnswer& gate) {
  HookAnswer a;
  const auto refuse = [&](std::string code, std::string message, std::vector<ReasonCode> reasons) {
    a.http_status = 403;
    a.code = std::move(code);
    a.message = std::move(message);
    a.reasons = std::move(reasons);
  };
  switch (hook) {
    case FlaggerHook::kPreRollout:
      break;
    case FlaggerHook::kConfirmRollout:
      if (mode == Mode::kFreeze) {
        refuse("frozen", "Backstop is in freeze: no rollout starts until an admin lifts it",
               {ReasonCode::kModeFreeze});
      }
      break;
    case FlaggerHook::kRollout:
      if (gate.gate == Gate::kRollback) {
        refuse("rollback_decided", "Backstop decided to roll this release back", gate.reasons);
      }
      break;
    case FlaggerHook::kConfirmPromotion: {
      const bool verified = status == ReleaseStatus::kHealthy || status == ReleaseStatus::kRollbackRejected;
      if (!verified || gate.gate != Gate::kProceed) {
        std::string why = gate.gate == Gate::kProceed
                              ? "the release is " + StatusText(status) + "; promotion waits until it is healthy"
                              : "the release is " + StatusText(status) + " and the gate says " +
                                    std::string(ToString(gate.gate));
        refuse("not_promotable", std::move(why), gate.reasons);
      }
      break;
    }
    case FlaggerHook::kRollback:
      if (gate.gate == Gate::kRollback) {
        a.hand_out = gate.hand_out;
      } else {
        refuse("no_rollback_decided",
               "no rollback is decided for this release (the gate says " + std::string(ToString(gate.gate)) + ")",
               gate.reasons);
      }
      break;
    case FlaggerHook::kPostRollout:
    case FlaggerHook::kEvent:
      a.http_status = 202;
      a.record_event = true;
      break;
  }
  return a;
}

std::optional<std::string> GateActionOverdue(const config::Config& config, const std::string& service, Millis age) {
  const config::ExecutorConfig* executor = config::MatchExecutor(config, service);
  if (executor == nullptr || executor->type != config::ExecutorType::kGate) {
    return "no gate executor matches service " + service + " any more: nothing would hand this action out";
  }
  if (age < executor->timeout) return std::nullopt;
  return "not handed out within " + FormatDuration(executor->timeout) +
         ": no Argo Rollouts or Flagger gate answer picked it up";
}

}  // namespace backstop::integrations
