#include "backstop/actions/outbox_worker.hpp"

#include <random>

#include <spdlog/spdlog.h>

#include "backstop/config/glob.hpp"
#include "backstop/metrics/metrics.hpp"

namespace backstop::actions {

namespace {

constexpr int kWorkers = 2;
constexpr auto kPollInterval = std::chrono::milliseconds(250);  // retries and expired leases
constexpr long kListenWaitMicros = 200000;  // how soon the listener notices a stop
constexpr Millis kLeaseSlack{10000};  // DESIGN: lease = executor timeout + 10 s
constexpr const char* kChannel = "backstop_actions";

// Receives NOTIFY on the actions channel.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, OutboxWorker& worker) : notification_receiver(conn, kChannel), worker_(worker) {}
  void operator()(const std::string&, int) override { worker_.Wake(); }

 private:
  OutboxWorker& worker_;
};

}  // namespace

OutboxWorker::OutboxWorker(store::DbPool& pool, policy::PolicyRegistry& registry, metrics::Metrics& metrics,
                           const config::Config& config, std::vector<std::shared_ptr<Executor>> executors)
    : pool_(pool), registry_(registry), metrics_(metrics), config_(config), executors_(std::move(executors)) {}

OutboxWorker::~OutboxWorker() { Stop(); }

Millis OutboxWorker::Lease() const {
  Millis longest{0};
  // A gate's timeout is how long its actions wait to be handed out, not an
  // attempt's length: it must not stretch the leases of the executors run here.
  for (const auto& e : config_.executors) {
    if (e.type != config::ExecutorType::kGate) longest = std::max(longest, e.timeout);
  }
  return longest + kLeaseSlack;
}

std::pair<const config::ExecutorConfig*, std::shared_ptr<Executor>> OutboxWorker::ExecutorFor(
    const std::string& service) const {
  for (std::size_t i = 0; i < config_.executors.size(); ++i) {
    if (config::GlobMatch(config_.executors[i].match, service)) return {&config_.executors[i], executors_[i]};
  }
  return {nullptr, nullptr};
}

void OutboxWorker::Start() {
  auto reclaimed = pool_.Run<std::int64_t>([this](pqxx::connection& conn) -> Result<std::int64_t> {
    pqxx::work tx(conn);
    const std::int64_t n = store::ActionRepository::ReclaimLeasesOf(tx, config_.instance_id);
    tx.commit();
    return n;
  });
  if (reclaimed.ok() && *reclaimed > 0) {
    spdlog::warn("executor: reclaimed {} action lease(s) held by this instance ({}) before a restart",
                 *reclaimed, config_.instance_id);
  }
  for (int i = 0; i < kWorkers; ++i) threads_.emplace_back([this](std::stop_token stop) { WorkerLoop(stop); });
  threads_.emplace_back([this](std::stop_token stop) { ListenLoop(stop); });
}

void OutboxWorker::Stop() {
  // A stop request wakes every wait on cv_ (condition_variable_any with the
  // thread's stop_token); the listener notices within one await timeout.
  for (auto& t : threads_) t.request_stop();
  threads_.clear();  // jthread joins
}

void OutboxWorker::Wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakeups_;
  }
  cv_.notify_all();
}

void OutboxWorker::ListenLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    try {
      auto conn = store::DbPool::Connect(config_.database_url, config_.database);
      Receiver receiver(*conn, *this);
      Wake();  // anything queued while not listening
      while (!stop.stop_requested()) conn->await_notification(0, kListenWaitMicros);
    } catch (const std::exception& e) {
      spdlog::warn("executor: notification listener: {}; retrying", e.what());
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, stop, kPollInterval, [] { return false; });
    }
  }
}

void OutboxWorker::WorkerLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      seen = wakeups_;
    }
    bool worked = false;
    try {
      worked = RunOnce();
    } catch (const std::exception& e) {
      spdlog::error("executor: {}", e.what());
    }
    if (!worked) {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, stop, kPollInterval, [&] { return wakeups_ != seen; });
    }
  }
}

std::optional<store::ClaimedAction> OutboxWorker::Claim() {
  auto claimed = pool_.Run<std::optional<store::ClaimedAction>>(
      [this](pqxx::connection& conn) -> Result<std::optional<store::ClaimedAction>> {
        pqxx::work tx(conn);
        auto c = workflow::ClaimNextAction(tx, config_.instance_id, Lease());
        tx.commit();
        return c;
      });
  if (!claimed.ok()) {
    spdlog::warn("executor: claim failed: {}", claimed.error().message);
    return std::nullopt;
  }
  return *claimed;
}

ExecutionResult OutboxWorker::ExecuteLeased(const store::ClaimedAction& c, Executor& executor) {
  // Renew the lease while the executor runs, so it always outlives the attempt.
  std::mutex renew_mutex;
  std::condition_variable renew_cv;
  bool done = false;
  std::thread renewer([&] {
    const auto every = std::max(Millis(500), Lease() / 3);
    std::unique_lock lock(renew_mutex);
    while (!renew_cv.wait_for(lock, every, [&] { return done; })) {
      lock.unlock();
      auto renewed = pool_.Run<bool>([&](pqxx::connection& conn) -> Result<bool> {
        pqxx::work tx(conn);
        const bool held =
            store::ActionRepository::RenewLease(tx, c.request.action_id, config_.instance_id, c.request.attempt, Lease());
        tx.commit();
        return held;
      });
      if (renewed.ok() && !*renewed) {
        spdlog::warn("executor: lease on action {} attempt {} was taken over", c.request.action_id, c.request.attempt);
      }
      lock.lock();
    }
  });
  ExecutionResult result;
  try {
    result = executor.Execute(c.request);
  } catch (const std::exception& e) {
    result.outcome = Outcome::kRetry;
    result.error = e.what();
  }
  {
    std::lock_guard lock(renew_mutex);
    done = true;
  }
  renew_cv.notify_all();
  renewer.join();
  return result;
}

bool OutboxWorker::RunOnce() {
  auto claimed = Claim();
  if (!claimed) return false;
  const store::ClaimedAction& c = *claimed;
  auto [cfg, executor] = ExecutorFor(c.request.service);
  workflow::AttemptReport report;
  const auto started = std::chrono::steady_clock::now();
  if (executor == nullptr) {
    report.result.outcome = Outcome::kFailed;
    report.result.error = "no executor matches service " + c.request.service;
  } else if (c.request.attempt > cfg->max_attempts) {
    // Taken over from expired leases more often than allowed (the holders
    // died mid-attempt): stop and ask a human rather than loop forever.
    report.result.outcome = Outcome::kFailed;
    report.result.error = "attempt " + std::to_string(c.request.attempt) + " exceeds max_attempts (" +
                          std::to_string(cfg->max_attempts) + ") after lost leases";
  } else {
    report.result = ExecuteLeased(c, *executor);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.executor = executor ? executor->name() : "none";
  report.max_attempts = cfg != nullptr ? cfg->max_attempts : 1;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  report.jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  metrics_.CountActionAttempt(report.executor, std::string(ToString(report.result.outcome)));
  metrics_.ObserveActionDuration(report.seconds);
  Complete(c, report);
  return true;
}

void OutboxWorker::Complete(const store::ClaimedAction& c, const workflow::AttemptReport& report) {
  auto recorded = pool_.Run<workflow::RecordedOutcome>([&](pqxx::connection& conn) -> Result<workflow::RecordedOutcome> {
    pqxx::work tx(conn);
    const workflow::RecordedOutcome out = workflow::RecordActionOutcome(tx, registry_, config_.instance_id, c, report);
    tx.commit();
    return out;
  });
  if (!recorded.ok()) {
    spdlog::error("executor: recording action {} attempt {} failed: {} (the lease will expire and it is retried)",
                  c.request.action_id, c.request.attempt, recorded.error().message);
    return;
  }
  if (recorded->stale) {
    metrics_.CountStaleCompletion();
    spdlog::warn("executor: action {} attempt {} finished after its lease was taken over; result dropped",
                 c.request.action_id, c.request.attempt);
    return;
  }
  const std::string state(domain::ToString(recorded->state));
  if (recorded->state == domain::ActionState::kSucceeded || recorded->state == domain::ActionState::kFailed) {
    metrics_.CountRollback(c.request.decided_by, state);
  }
  const std::string& error = report.result.error;
  spdlog::info("executor: action {} attempt {}: {}{}", c.request.action_id, c.request.attempt, state,
               error.empty() ? "" : " (" + error + ")");
  if (recorded->state == domain::ActionState::kPending) Wake();
}

}  // namespace backstop::actions
