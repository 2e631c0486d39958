#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

#include <algorithm>
#include <chrono>

#include "backstop/common/duration.hpp"

namespace backstop::evaluator {

// Paces evaluations of fresh telemetry: on average one run per `gap`, with
// up to `burst` runs at once after a quiet spell (a generic cell rate
// algorithm: `due` is when the next run would fall at the steady rate). A
// lone batch, or a healthy batch followed at once by a breaching one, is
// evaluated without waiting; a stream of batches is coalesced into one run
// per gap. Pure.
class DirtyRunPacer {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  DirtyRunPacer(Duration gap, int burst) : gap_(gap), burst_(burst) {}

  // How long a run wanted at `now` waits.
  Duration DelayAt(Time now) const {
    const Time allowed_at = due_ - (burst_ - 1) * gap_;
    return allowed_at > now ? allowed_at - now : Duration::zero();
  }
  // A run started at `at`.
  void Ran(Time at) { due_ = std::max(due_, at) + gap_; }

 private:
  Duration gap_;
  int burst_;
  Time due_{};
};

// The evaluator's one thread: runs `on_dirty` soon after Wake (paced by a
// DirtyRunPacer of one run per 2 ms, bursts of 2) and `on_tick` every `tick`. Callbacks run on
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
