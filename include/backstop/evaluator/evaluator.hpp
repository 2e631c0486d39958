#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backstop/common/db_clock.hpp"
#include "backstop/config/config.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/telemetry/window_store.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::evaluator {

using SteadyTime = std::chrono::steady_clock::time_point;

// The imperative shell around the pure decision core.
//
// Keeps the releases under evaluation in memory with their evaluation
// history. A release is re-evaluated when telemetry for its service and
// environment arrives (debounced: a burst of batches gives one evaluation)
// and on every evaluation_tick (staleness, breach_for, duration, expiry).
// On each tick it also reloads the evaluable releases from PostgreSQL, so a
// restart resumes where the database says, and expires due escalations.
//
// When the core decides, the decision is committed in one transaction with
// the release status, the audit entry and either an action or an
// escalation. The transaction locks the release row and re-checks status,
// episode and pending escalations, counts the budget under a per class and
// environment lock and decides again with the database's mode and budget,
// so duplicate or concurrent evaluations create nothing twice.
//
// Thread-safe; one evaluation thread does the work.
class Evaluator {
 public:
  Evaluator(store::DbPool& pool, policy::PolicyRegistry& registry, telemetry::WindowStore& windows,
            metrics::Metrics& metrics, const config::Config& config, DbClock& clock);
  ~Evaluator();

  void Start();
  void Stop();

  // Telemetry for these (service, environment) pairs arrived at `arrival`.
  void NotifyTelemetry(const std::set<std::pair<std::string, std::string>>& touched, SteadyTime arrival);
  // A release was registered (and may have superseded others).
  void NotifyRelease(const store::Release& release);

  // The latest evaluation of a release by this process, if any.
  std::optional<decision::Evaluation> LatestEvaluation(const std::string& release_id) const;

  // Runs one tick synchronously (tests and the loop).
  void TickNow();

  // True while this process holds the evaluator lease. A standby answers
  // telemetry with 503 and fails /readyz, so a load balancer sends
  // telemetry to the active evaluator.
  bool active() const { return holds_lease_.load(); }

 private:
  struct Active {
    store::Release release;
    decision::EvaluationHistory history;
    std::optional<decision::Evaluation> latest;
    bool pending_escalation = false;
    std::optional<SteadyTime> first_arrival;  // oldest telemetry not yet evaluated
    SteadyTime notified_at{};                 // when NotifyRelease last touched it
    // (episode, decision) the database already holds: no need to ask again
    // until the episode changes (dry-run records, approved containment).
    std::optional<std::pair<int, decision::DecisionKind>> settled;
  };

  void Loop();
  void Reload();
  void EvaluateOne(const std::string& release_id, SteadyTime trigger);
  void EvaluateGuarded(const std::string& release_id, SteadyTime trigger);
  void Forget(const std::string& release_id);
  void VerifyRollbacks();
  // Takes or renews the evaluator lease; returns whether this process holds it.
  bool RenewLease();
  void SyncClock();  // measures the database clock's offset
  void ReleaseLease();

  store::DbPool& pool_;
  policy::PolicyRegistry& registry_;
  telemetry::WindowStore& windows_;
  metrics::Metrics& metrics_;
  const config::Config& config_;
  DbClock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Active> active_;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> by_service_env_;
  std::set<std::string> dirty_;
  std::map<std::string, decision::Evaluation> finished_;  // last evaluation of releases that left
  std::map<std::string, TimePoint> verify_breach_since_;   // post-rollback verification holds
  std::atomic<Mode> mode_{Mode::kNormal};  // refreshed each tick; the commit reads the database's
  const std::string lease_owner_;         // instance_id plus a per-start suffix
  std::atomic<bool> holds_lease_{false};
  std::atomic<std::int64_t> epoch_{0};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace backstop::evaluator
