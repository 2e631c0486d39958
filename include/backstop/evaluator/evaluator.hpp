#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/db_clock.hpp"
#include "backstop/config/config.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/evaluator/evaluation_scheduler.hpp"
#include "backstop/evaluator/evaluator_lease.hpp"
#include "backstop/evaluator/release_tracker.hpp"
#include "backstop/evaluator/rollback_verifier.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/pull/pull_plan.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/telemetry/window_store.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::evaluator {

// The imperative shell around the pure decision core: schedules
// evaluations, feeds the core and hands its decisions to the workflow.
//
// A release is re-evaluated when telemetry for its service and environment
// arrives (debounced) and on every evaluation_tick (staleness, breach_for,
// duration, expiry). Each tick renews the evaluator lease, reloads the
// evaluable releases from PostgreSQL (so a restart resumes where the
// database says), expires due escalations and verifies recent rollbacks.
// When the core decides, workflow::CommitDecision writes it in one fenced
// transaction.
//
// Parts: EvaluatorLease (one evaluating process per database),
// ReleaseTracker (the in-memory state, one mutex), RollbackVerifier, and
// EvaluationScheduler (the one thread). Thread-safe; evaluation work is
// serialized, so TickNow may also be called from another thread (tests
// drive ticks that way instead of sleeping).
class Evaluator {
 public:
  Evaluator(store::DbPool& pool, policy::PolicyRegistry& registry, telemetry::WindowStore& windows,
            metrics::Metrics& metrics, const config::Config& config, DbClock& clock);
  ~Evaluator();

  void Start();
  void Stop();

  // Telemetry for these (service, environment) pairs arrived at `arrival`.
  void NotifyTelemetry(const std::set<std::pair<std::string, std::string>>& touched, SteadyTime arrival);
  // A release was registered (and may have superseded others) or changed.
  void NotifyRelease(const store::Release& release);

  // The latest evaluation of a release by this process, if any.
  std::optional<decision::Evaluation> LatestEvaluation(const std::string& release_id) const;

  // Runs one tick now, synchronously.
  void TickNow();

  // What the telemetry puller pulls for: every release under evaluation
  // (canary and baseline) and every restored version under post-rollback
  // verification, each with the threshold set it pinned. Thread-safe.
  std::vector<pull::PullRelease> PullTargets() const;

  // True while this process holds the evaluator lease. A standby answers
  // telemetry with 503 and fails /readyz, so a load balancer sends
  // telemetry to the active evaluator.
  bool active() const { return lease_.held(); }

  // Releases whose latest decision failed to commit (retried each tick),
  // sorted by id; /readyz lists them.
  std::vector<std::string> UncommittedDecisions() const;

 private:
  void EvaluateDirty();
  void Tick();  // the body of a tick; the caller holds work_mutex_
  void Reload();
  void EvaluateOne(const std::string& release_id, SteadyTime trigger);
  void SyncClock();  // measures the database clock's offset
  void RecordCommitFailure(const store::Release& rel, decision::DecisionKind kind, const Error& error);

  store::DbPool& pool_;
  policy::PolicyRegistry& registry_;
  telemetry::WindowStore& windows_;
  metrics::Metrics& metrics_;
  const config::Config& config_;
  DbClock& clock_;

  EvaluatorLease lease_;
  ReleaseTracker tracker_;
  RollbackVerifier verifier_;
  std::atomic<Mode> mode_{Mode::kNormal};  // refreshed each tick; the commit reads the database's
  std::mutex work_mutex_;                  // one evaluation or tick at a time
  EvaluationScheduler scheduler_;
};

}  // namespace backstop::evaluator
