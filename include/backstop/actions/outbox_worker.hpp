#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <stop_token>
#include <thread>
#include <vector>

#include "backstop/actions/executor.hpp"
#include "backstop/config/config.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/workflow/action_outcome.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::actions {

// Runs queued rollback actions: the transactional outbox's consumer.
//
// A worker claims one action in a committed transaction of its own (an
// UPDATE over a FOR UPDATE SKIP LOCKED subselect of due `pending` actions
// and `running` ones whose lease expired): lease owner = instance_id, lease
// expiry from the database's now(), attempt + 1. While the executor runs,
// the lease is renewed; it always outlives the executor's timeout (timeout
// + 10 s). Every outcome is recorded fenced — WHERE lease_owner = me AND
// attempts = n — so a worker whose lease was taken over changes nothing
// (counted as a stale completion). Delivery is therefore at-least-once and
// the action id (Idempotency-Key, body action_id) makes the effect
// exactly-once at a receiver that deduplicates.
//
// Woken at once by LISTEN backstop_actions (NOTIFY in the queuing
// transaction), and polls every second for retries and expired leases. On
// start it makes the leases held under its own instance_id claimable at
// once: its previous life is over.
class OutboxWorker {
 public:
  OutboxWorker(store::DbPool& pool, policy::PolicyRegistry& registry, metrics::Metrics& metrics,
               const config::Config& config, std::vector<std::shared_ptr<Executor>> executors);
  ~OutboxWorker();

  void Start();
  void Stop();
  void Wake();

 private:
  void WorkerLoop(std::stop_token stop);
  void ListenLoop(std::stop_token stop);
  bool RunOnce();  // false when nothing was claimable
  std::optional<store::ClaimedAction> Claim();
  // Runs the executor while a helper thread renews the lease.
  ExecutionResult ExecuteLeased(const store::ClaimedAction& c, Executor& executor);
  // Records the attempt's outcome through the workflow, fenced.
  void Complete(const store::ClaimedAction& c, const workflow::AttemptReport& report);
  std::pair<const config::ExecutorConfig*, std::shared_ptr<Executor>> ExecutorFor(const std::string& service) const;
  Millis Lease() const;

  store::DbPool& pool_;
  policy::PolicyRegistry& registry_;
  metrics::Metrics& metrics_;
  const config::Config& config_;
  std::vector<std::shared_ptr<Executor>> executors_;  // parallel to config_.executors

  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::uint64_t wakeups_ = 0;
  std::vector<std::jthread> threads_;
};

}  // namespace backstop::actions
