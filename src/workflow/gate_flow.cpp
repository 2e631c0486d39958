#include "backstop/workflow/gate_flow.hpp"

#include <stdexcept>

#include <boost/json.hpp>

#include "backstop/store/action_repository.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/mode_repository.hpp"
#include "backstop/workflow/action_outcome.hpp"
#include "backstop/workflow/audit_record.hpp"
#include "backstop/workflow/release_registration.hpp"

namespace backstop::workflow {

namespace {

using domain::ReleaseStatus;

// A gate claim is completed in the transaction that takes it, so its lease
// is never seen by another process; it only has to satisfy the fence.
constexpr Millis kGateClaimLease = std::chrono::seconds(60);
constexpr const char* kGateExecutor = "gate";

bool TrafficMayChange(ReleaseStatus s) {
  return s == ReleaseStatus::kEvaluating || s == ReleaseStatus::kEscalated || s == ReleaseStatus::kRollbackRejected;
}

integrations::EscalationFact FactOf(const store::EscalationRow& e) { return {e.id, e.reasons}; }

// Gathers what the gate answer depends on; the caller holds the release row lock.
integrations::GateFacts GatherFacts(pqxx::work& tx, const store::Release& release,
                                    std::optional<std::string>& newest_evidence) {
  integrations::GateFacts f;
  f.status = release.status;
  // Read without a lock: this transaction may already hold the audit head,
  // and a mode switch takes the mode row before the audit head.
  f.mode = store::ModeRepository::Get(tx).mode;
  store::EscalationQuery pending;
  pending.release_id = release.id;
  pending.state = domain::EscalationState::kPending;
  pending.limit = 1;
  if (auto page = store::EscalationRepository::List(tx, pending); !page.items.empty()) {
    f.pending_escalation = FactOf(page.items.front());
  }
  store::EscalationQuery latest;
  latest.release_id = release.id;
  latest.limit = 1;
  if (auto page = store::EscalationRepository::List(tx, latest); !page.items.empty()) {
    f.latest_escalation = FactOf(page.items.front());
  }
  if (auto page = store::ActionRepository::List(tx, release.id, std::nullopt, 1); !page.items.empty()) {
    const store::ActionRow& a = page.items.front();
    f.rollback = integrations::RollbackFact{a.state, a.decided_by, a.executor == kGateExecutor, a.reasons,
                                            a.escalation_id};
  }
  const auto decisions = store::DecisionRepository::ListForRelease(tx, release.id);
  if (!decisions.empty()) newest_evidence = decisions.front().evidence;
  for (const auto& d : decisions) {
    if (d.episode != release.episode || !decision::IsDryRun(d.decision)) continue;
    if (!f.dry_run || d.decision == decision::DecisionKind::kWouldRollback) f.dry_run = d.decision;
  }
  return f;
}

// Registers (or replays) the release, applies a changed traffic_percent,
// locks the row and answers the gate table.
Result<GateOutcome> OpenGate(pqxx::work& tx, const config::Notifiers& notifiers, const store::NewRelease& release,
                             const std::string& actor) {
  GateOutcome out;
  auto registered = RegisterRelease(tx, notifiers, release, actor);
  if (!registered) return registered.error();
  out.registered = registered->created;
  const store::Release& stored = registered->release;
  if (!registered->created && stored.traffic_percent != release.traffic_percent &&
      TrafficMayChange(stored.status)) {
    auto changed = ChangeTraffic(tx, release.id, release.traffic_percent, actor);
    if (!changed && changed.error().kind != ErrorKind::kConflict) return changed.error();
    out.traffic_changed = changed.ok();
  }
  auto locked = store::ReleaseRepository::Lock(tx, release.id);
  if (!locked) return Error::Internal("release " + release.id + " vanished while its gate was answered");
  out.release = std::move(*locked);
  out.facts = GatherFacts(tx, out.release, out.newest_evidence);
  out.answer = integrations::AnswerGate(out.facts);
  return out;
}

void HandOut(pqxx::work& tx, const policy::PolicyRegistry& registry, const config::Notifiers& notifiers,
             GateOutcome& gate, integrations::Orchestrator by) {
  gate.handed_out = HandOutGateAction(tx, registry, notifiers, gate.release.id, by);
  if (gate.handed_out) {
    if (auto now = store::ReleaseRepository::Find(tx, gate.release.id)) gate.release = std::move(*now);
  }
}

}  // namespace

std::optional<HandedOut> HandOutGateAction(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                           const config::Notifiers& notifiers, const std::string& release_id,
                                           integrations::Orchestrator by) {
  const auto action_id = store::ActionRepository::FindPendingGate(tx, release_id);
  if (!action_id) return std::nullopt;
  const std::string picked_up_by(integrations::ToString(by));
  auto claimed = store::ActionRepository::ClaimGate(tx, *action_id, picked_up_by, kGateClaimLease);
  if (!claimed) return std::nullopt;
  const auto& r = claimed->request;
  store::ActionRepository::RecordAttemptStarted(tx, r.action_id, r.attempt, picked_up_by);
  Record(tx, "system", audit::AuditKind::kActionHandedOut, r.release_id,
         {{"action_id", r.action_id}, {"attempt", r.attempt}, {"picked_up_by", picked_up_by}});
  AttemptReport report;
  report.result.outcome = actions::Outcome::kSucceeded;
  report.result.output = "handed out to " + picked_up_by;
  report.executor = kGateExecutor;
  report.picked_up_by = picked_up_by;
  const RecordedOutcome recorded = RecordActionOutcome(tx, registry, notifiers, picked_up_by, *claimed, report);
  if (recorded.stale) throw std::logic_error("gate action " + r.action_id + " lost its claim inside one transaction");
  return HandedOut{r.action_id, r.decided_by};
}

Result<GateOutcome> CallArgoRolloutsGate(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                         const config::Notifiers& notifiers, const store::NewRelease& release,
                                         const std::string& actor) {
  auto gate = OpenGate(tx, notifiers, release, actor);
  if (!gate) return gate;
  if (gate->answer.hand_out) HandOut(tx, registry, notifiers, *gate, integrations::Orchestrator::kArgoRollouts);
  return gate;
}

Result<HookOutcome> CallFlaggerHook(pqxx::work& tx, const policy::PolicyRegistry& registry,
                                    const config::Notifiers& notifiers, const store::NewRelease& release,
                                    const std::string& actor, integrations::FlaggerHook hook,
                                    const boost::json::object& event) {
  auto gate = OpenGate(tx, notifiers, release, actor);
  if (!gate) return gate.error();
  HookOutcome out;
  out.answer = integrations::AnswerFlaggerHook(hook, gate->release.status, gate->facts.mode, gate->answer);
  if (out.answer.hand_out) HandOut(tx, registry, notifiers, *gate, integrations::Orchestrator::kFlagger);
  if (out.answer.record_event) {
    boost::json::object payload = event;
    payload["hook"] = integrations::ToString(hook);
    Record(tx, actor, audit::AuditKind::kIntegrationEvent, release.id, payload);
  }
  out.gate = std::move(gate).value();
  return out;
}

std::vector<FailedGateAction> FailOverdueGateActions(pqxx::connection& conn, const config::Config& config,
                                                     const policy::PolicyRegistry& registry,
                                                     const std::string& worker) {
  std::vector<store::PendingGateAction> pending;
  {
    pqxx::read_transaction tx(conn);
    pending = store::ActionRepository::ListPendingGate(tx);
  }
  std::vector<FailedGateAction> failed;
  for (const auto& p : pending) {
    const auto why = integrations::GateActionOverdue(config, p.service, p.age);
    if (!why) continue;
    pqxx::work tx(conn);
    store::ReleaseRepository::Lock(tx, p.release_id);
    auto claimed = store::ActionRepository::ClaimGate(tx, p.action_id, worker, kGateClaimLease);
    if (!claimed) continue;  // handed out meanwhile
    const auto& r = claimed->request;
    store::ActionRepository::RecordAttemptStarted(tx, r.action_id, r.attempt, worker);
    AttemptReport report;
    report.result.outcome = actions::Outcome::kFailed;
    report.result.error = *why;
    report.executor = kGateExecutor;
    const RecordedOutcome recorded = RecordActionOutcome(tx, registry, config.notifiers, worker, *claimed, report);
    if (recorded.stale) continue;
    tx.commit();
    failed.push_back(FailedGateAction{r.action_id, r.release_id, r.decided_by, *why});
  }
  return failed;
}

}  // namespace backstop::workflow
