#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "backstop/common/duration.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/workflow/decision_commit.hpp"

namespace backstop::evaluator {

// This process's claim on the evaluator lease (one evaluating process per
// database). Renewed every tick; every decision commit is fenced by the
// epoch it holds (workflow::LeaseFence). Thread-safe: held() and fence()
// are read by any thread; Renew and Release run on the evaluator thread.
class EvaluatorLease {
 public:
  // The owner is `instance_id`, a colon and 8 random hex digits: one name
  // per life of the process, so a restart starts a new epoch.
  EvaluatorLease(store::DbPool& pool, const std::string& instance_id, Millis duration);

  // At start-up: takes the lease back at once if a previous life of this
  // instance (same instance_id) still holds it — that life is over, and
  // waiting for its lease to expire would refuse telemetry meanwhile.
  // Returns whether it did. A lease of another instance is left alone.
  bool TakeBackFromPreviousLife();
  // Takes or renews the lease; returns whether this process holds it. An
  // unreachable database counts as not held: we cannot know, so we stop
  // acting (decision commits check the lease anyway).
  bool Renew();
  // Lets it expire now, so a standby takes over at its next tick.
  void Release();

  bool held() const { return held_.load(); }
  workflow::LeaseFence fence() const { return {owner_, epoch_.load()}; }

 private:
  store::DbPool& pool_;
  const std::string instance_id_;
  const std::string owner_;  // instance_id_ plus a per-start suffix
  const Millis duration_;
  std::atomic<bool> held_{false};
  std::atomic<std::int64_t> epoch_{0};
};

}  // namespace backstop::evaluator
