#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <stop_token>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"
#include "backstop/config/config.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/outbox.hpp"

namespace backstop::actions {

// How a recorded attempt left its row.
struct RecordedAttempt {
  bool stale = false;        // the lease was taken over: nothing was written
  bool again = false;        // pending again: retried after its backoff
  std::string state;         // the row's state (wire string), for the log
};

// One claimed attempt of one outbox row (an action, a notification): run
// outside any transaction, then recorded fenced on its claim.
class OutboxJob {
 public:
  virtual ~OutboxJob() = default;
  virtual const store::OutboxClaim& claim() const = 0;
  // "action 7c1e… attempt 2": for the log.
  virtual std::string Describe() const = 0;
  // Carries the attempt out; blocks at most its deliverer's timeout.
  virtual ExecutionResult Run() = 0;
  // Records the outcome through the workflow in `tx` (the caller commits).
  virtual RecordedAttempt Record(pqxx::work& tx, const std::string& worker, const ExecutionResult& result,
                                 double seconds, double jitter) = 0;
  // After the commit: metrics.
  virtual void Count(const RecordedAttempt& recorded, const ExecutionResult& result, double seconds) = 0;
};

// An outbox a worker drains: what to claim and how long a lease lasts.
class OutboxSource {
 public:
  virtual ~OutboxSource() = default;
  virtual store::OutboxKind kind() const = 0;
  virtual std::string_view noun() const = 0;  // "executor", "notifier": the log's prefix
  // Outlives every attempt: the longest deliverer timeout + 10 s.
  virtual Millis Lease() const = 0;
  // Claims the next due row through the workflow, in `tx`; null when none is due.
  virtual std::shared_ptr<OutboxJob> Claim(pqxx::work& tx, const std::string& worker, Millis lease) = 0;
};

// Drains one transactional outbox with a few threads: the one claim / lease
// / backoff loop behind both rollback actions and notifications.
//
// A worker claims one row in a committed transaction of its own (an UPDATE
// over a FOR UPDATE SKIP LOCKED subselect of due `pending` rows and
// `running` ones whose lease expired, store::Outbox): lease owner =
// instance_id, lease expiry from the database's now(), attempt + 1. While
// the attempt runs, the lease is renewed; it always outlives the
// deliverer's timeout. Every outcome is recorded fenced — WHERE lease_owner
// = me AND attempts = n — so a worker whose lease was taken over changes
// nothing (counted as a stale completion). Delivery is at-least-once; the
// row's id makes the effect exactly-once at a receiver that deduplicates.
//
// Woken at once by LISTEN on the outbox's channel (NOTIFY in the queuing
// transaction), and polls for retries and expired leases. On start it makes
// the leases held under its own instance_id claimable at once: its previous
// life is over. Actions and notifications have a worker each, with threads
// of their own, so a slow notifier never delays a rollback.
class OutboxWorker {
 public:
  OutboxWorker(store::DbPool& pool, const config::Config& config, std::unique_ptr<OutboxSource> source,
               int threads);
  ~OutboxWorker();

  void Start();
  void Stop();
  void Wake();

 private:
  void WorkerLoop(std::stop_token stop);
  void ListenLoop(std::stop_token stop);
  bool RunOnce();  // false when nothing was claimable
  std::shared_ptr<OutboxJob> Claim();
  // Runs the job while a helper thread renews the lease.
  ExecutionResult RunLeased(OutboxJob& job);
  void Complete(OutboxJob& job, const ExecutionResult& result, double seconds);

  store::DbPool& pool_;
  const config::Config& config_;
  std::unique_ptr<OutboxSource> source_;
  const int thread_count_;

  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::uint64_t wakeups_ = 0;
  std::vector<std::jthread> threads_;
};

}  // namespace backstop::actions
