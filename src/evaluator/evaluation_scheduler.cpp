#include "backstop/evaluator/evaluation_scheduler.hpp"

#include <spdlog/spdlog.h>

namespace backstop::evaluator {

namespace {

// Fresh telemetry is evaluated once per this at the steady rate (a stream of
// batches gives one evaluation per release per gap), with bursts of
// kDirtyBurst after a quiet spell. It used to be a fixed sleep after every
// Wake, which put 2 ms on every breach-to-webhook path.
constexpr Millis kDirtyGap{2};
constexpr int kDirtyBurst = 2;

// A failing callback must not stop the thread.
void Guarded(const std::function<void()>& f, const char* what) {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("evaluator: {} failed: {}", what, e.what());
  }
}

}  // namespace

EvaluationScheduler::EvaluationScheduler(Millis tick, std::function<void()> on_dirty, std::function<void()> on_tick)
    : tick_(tick), on_dirty_(std::move(on_dirty)), on_tick_(std::move(on_tick)) {}

EvaluationScheduler::~EvaluationScheduler() { Stop(); }

void EvaluationScheduler::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void EvaluationScheduler::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void EvaluationScheduler::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void EvaluationScheduler::Loop(std::stop_token stop) {
  auto next_tick = std::chrono::steady_clock::now();
  DirtyRunPacer pacer(kDirtyGap, kDirtyBurst);
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    cv_.wait_until(lock, stop, next_tick, [this] { return woken_; });
    if (stop.stop_requested()) break;
    if (woken_) {
      woken_ = false;
      lock.unlock();
      const auto delay = pacer.DelayAt(std::chrono::steady_clock::now());
      if (delay > std::chrono::steady_clock::duration::zero()) std::this_thread::sleep_for(delay);
      pacer.Ran(std::chrono::steady_clock::now());
      Guarded(on_dirty_, "evaluating fresh telemetry");
      lock.lock();
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      lock.unlock();
      Guarded(on_tick_, "tick");
      lock.lock();
      next_tick = std::chrono::steady_clock::now() + tick_;
    }
  }
}

}  // namespace backstop::evaluator
