#include "backstop/evaluator/rollback_verifier.hpp"

#include <set>

#include <spdlog/spdlog.h>

#include "backstop/decision/verification.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/workflow/decision_commit.hpp"

namespace backstop::evaluator {

RollbackVerifier::RollbackVerifier(store::DbPool& pool, policy::PolicyRegistry& registry,
                                   telemetry::WindowStore& windows, metrics::Metrics& metrics,
                                   const EvaluatorLease& lease, const DbClock& clock, const config::Notifiers& notifiers)
    : pool_(pool),
      registry_(registry),
      windows_(windows),
      metrics_(metrics),
      lease_(lease),
      clock_(clock),
      notifiers_(notifiers) {}

void RollbackVerifier::RunOnce() {
  auto rolled_back =
      pool_.Run<std::vector<store::Release>>([this](pqxx::connection& conn) -> Result<std::vector<store::Release>> {
        pqxx::read_transaction tx(conn);
        return store::ReleaseRepository::ListRolledBackWithin(tx, registry_.MaxRetention());
      });
  if (!rolled_back.ok()) return;
  std::set<std::string> seen;
  std::vector<pull::PullRelease> verifying;
  for (const auto& rel : *rolled_back) {
    const auto set = registry_.Find(rel.release_class, rel.thresholds_version);
    if (!set || !rel.previous_version) continue;
    const TimePoint now = clock_.Now();
    if (now - rel.updated_at > set->evaluation.window) continue;  // verified for a whole window
    seen.insert(rel.id);
    verifying.push_back({rel.service, rel.environment, *rel.previous_version, std::nullopt, set});
    // The restored version is evaluated on its own: it is its own baseline.
    decision::ReleaseFacts restored{rel.id, rel.service, rel.environment, *rel.previous_version, std::nullopt,
                                    rel.traffic_percent, rel.shared_infrastructure, rel.started_at};
    decision::TelemetrySnapshot telemetry;
    for (const auto& signal : set->signals) {
      for (auto& p : windows_.Snapshot(rel.service, rel.environment, signal.name, restored.version, std::nullopt)) {
        telemetry.series.push_back(std::move(p));
      }
    }
    std::optional<TimePoint> since;
    if (auto it = breach_since_.find(rel.id); it != breach_since_.end()) since = it->second;
    const auto result = decision::VerifyRollback(restored, *set, telemetry, now, since);
    if (result.breach_since) {
      breach_since_[rel.id] = *result.breach_since;
    } else {
      breach_since_.erase(rel.id);
    }
    if (!result.ineffective) continue;
    decision::Evaluation evidence;
    evidence.signals = result.signals;
    evidence.verdict = decision::Verdict::kBreach;
    evidence.evaluated_at = now;
    const workflow::LeaseFence fence = lease_.fence();
    auto opened = pool_.Run<bool>([&](pqxx::connection& conn) -> Result<bool> {
      pqxx::work tx(conn);
      const bool done = workflow::CommitIneffectiveRollback(tx, fence, notifiers_, rel.id, *set, evidence);
      tx.commit();
      return done;
    });
    if (opened.ok() && *opened) {
      metrics_.CountEscalation(std::string(decision::ToString(decision::ReasonCode::kRollbackIneffective)));
      spdlog::warn("evaluator: rollback of {} looks ineffective; escalated", rel.id);
    }
  }
  for (auto it = breach_since_.begin(); it != breach_since_.end();) {
    it = seen.count(it->first) ? std::next(it) : breach_since_.erase(it);
  }
  std::lock_guard lock(verifying_mutex_);
  verifying_ = std::move(verifying);
}

std::vector<pull::PullRelease> RollbackVerifier::Verifying() const {
  std::lock_guard lock(verifying_mutex_);
  return verifying_;
}

}  // namespace backstop::evaluator
