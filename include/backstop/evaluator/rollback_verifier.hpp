#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backstop/common/db_clock.hpp"
#include "backstop/config/config.hpp"
#include "backstop/evaluator/evaluator_lease.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/pull/pull_plan.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/telemetry/window_store.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::evaluator {

// Post-rollback verification: for a window after each rollback, evaluates
// the restored version on its own (it is its own baseline); if it still
// breaches for breach_for, the cause is elsewhere and a human is asked once
// (`rollback.ineffective`, through workflow::CommitIneffectiveRollback).
// Runs on the evaluator thread only; not thread-safe.
class RollbackVerifier {
 public:
  RollbackVerifier(store::DbPool& pool, policy::PolicyRegistry& registry, telemetry::WindowStore& windows,
                   metrics::Metrics& metrics, const EvaluatorLease& lease, const DbClock& clock,
                   const config::Notifiers& notifiers);

  void RunOnce();

  // The restored versions under verification as of the last RunOnce, for
  // the telemetry puller. Thread-safe (any thread may call it).
  std::vector<pull::PullRelease> Verifying() const;

 private:
  store::DbPool& pool_;
  policy::PolicyRegistry& registry_;
  telemetry::WindowStore& windows_;
  metrics::Metrics& metrics_;
  const EvaluatorLease& lease_;
  const DbClock& clock_;
  const config::Notifiers& notifiers_;
  std::map<std::string, TimePoint> breach_since_;  // releases whose restored version breaches, since when
  mutable std::mutex verifying_mutex_;
  std::vector<pull::PullRelease> verifying_;  // guarded by verifying_mutex_
};

}  // namespace backstop::evaluator
