#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

#include "backstop/common/duration.hpp"

namespace backstop::evaluator {

// The evaluator's one thread: runs `on_dirty` soon after Wake (debounced, so
// a burst of telemetry batches gives one evaluation) and `on_tick` every
// `tick`. Callbacks run on this thread only, never concurrently. Wake is
// thread-safe; Stop joins.
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
