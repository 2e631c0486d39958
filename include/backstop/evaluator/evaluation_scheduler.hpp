#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

#include <chrono>
#include <optional>

#include "backstop/common/duration.hpp"

namespace backstop::evaluator {

// How long the scheduler waits after a Wake before it evaluates fresh
// telemetry: nothing when the last such run is at least `min_gap` ago (a lone
// breaching batch is evaluated at once), else the rest of the gap (a burst
// of batches is coalesced into one run per gap).
inline std::chrono::steady_clock::duration DelayBeforeDirtyRun(
    std::chrono::steady_clock::time_point now, std::optional<std::chrono::steady_clock::time_point> last_run,
    Millis min_gap) {
  if (!last_run || now - *last_run >= min_gap) return std::chrono::steady_clock::duration::zero();
  return min_gap - (now - *last_run);
}

// The evaluator's one thread: runs `on_dirty` soon after Wake (at most once
// per 2 ms, so a burst of telemetry batches gives one evaluation, while a
// lone batch waits for nothing) and `on_tick` every `tick`. Callbacks run on
// this thread only, never concurrently. Wake is thread-safe; Stop joins.
class EvaluationScheduler {
 public:
  EvaluationScheduler(Millis tick, std::function<void()> on_dirty, std::function<void()> on_tick);
  ~EvaluationScheduler();

  void Start();
  void Stop();
  void Wake();

 private:
  void Loop(std::stop_token stop);

  const Millis tick_;
  const std::function<void()> on_dirty_;
  const std::function<void()> on_tick_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  std::jthread thread_;
};

}  // namespace backstop::evaluator
