#include "backstop/actions/outbox_worker.hpp"

#include <random>

#include <spdlog/spdlog.h>

namespace backstop::actions {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(250);  // retries and expired leases
constexpr long kListenWaitMicros = 200000;  // how soon the listener notices a stop

// Receives NOTIFY on the outbox's channel.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel, OutboxWorker& worker)
      : notification_receiver(conn, channel), worker_(worker) {}
  void operator()(const std::string&, int) override { worker_.Wake(); }

 private:
  OutboxWorker& worker_;
};

}  // namespace

OutboxWorker::OutboxWorker(store::DbPool& pool, const config::Config& config, std::unique_ptr<OutboxSource> source,
                           int threads)
    : pool_(pool), config_(config), source_(std::move(source)), thread_count_(threads) {}

OutboxWorker::~OutboxWorker() { Stop(); }

void OutboxWorker::Start() {
  const store::OutboxKind kind = source_->kind();
  auto reclaimed = pool_.Run<std::int64_t>([this, kind](pqxx::connection& conn) -> Result<std::int64_t> {
    pqxx::work tx(conn);
    const std::int64_t n = store::Outbox::ReclaimLeasesOf(tx, kind, config_.instance_id);
    tx.commit();
    return n;
  });
  if (reclaimed.ok() && *reclaimed > 0) {
    spdlog::warn("{}: reclaimed {} lease(s) held by this instance ({}) before a restart", source_->noun(), *reclaimed,
                 config_.instance_id);
  }
  for (int i = 0; i < thread_count_; ++i) threads_.emplace_back([this](std::stop_token stop) { WorkerLoop(stop); });
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
  const std::string channel(store::Outbox::Channel(source_->kind()));
  while (!stop.stop_requested()) {
    try {
      auto conn = store::DbPool::Connect(config_.database_url, config_.database);
      Receiver receiver(*conn, channel, *this);
      Wake();  // anything queued while not listening
      while (!stop.stop_requested()) conn->await_notification(0, kListenWaitMicros);
    } catch (const std::exception& e) {
      spdlog::warn("{}: notification listener: {}; retrying", source_->noun(), e.what());
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
      spdlog::error("{}: {}", source_->noun(), e.what());
    }
    if (!worked) {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, stop, kPollInterval, [&] { return wakeups_ != seen; });
    }
  }
}

std::shared_ptr<OutboxJob> OutboxWorker::Claim() {
  const Millis lease = source_->Lease();
  auto claimed = pool_.Run<std::shared_ptr<OutboxJob>>(
      [this, lease](pqxx::connection& conn) -> Result<std::shared_ptr<OutboxJob>> {
        pqxx::work tx(conn);
        auto job = source_->Claim(tx, config_.instance_id, lease);
        tx.commit();
        return job;
      });
  if (!claimed.ok()) {
    spdlog::warn("{}: claim failed: {}", source_->noun(), claimed.error().message);
    return nullptr;
  }
  return *claimed;
}

ExecutionResult OutboxWorker::RunLeased(OutboxJob& job) {
  // Renew the lease while the attempt runs, so it always outlives it.
  std::mutex renew_mutex;
  std::condition_variable renew_cv;
  bool done = false;
  const Millis lease = source_->Lease();
  const store::OutboxKind kind = source_->kind();
  std::thread renewer([&] {
    const auto every = std::max(Millis(500), lease / 3);
    std::unique_lock lock(renew_mutex);
    while (!renew_cv.wait_for(lock, every, [&] { return done; })) {
      lock.unlock();
      auto renewed = pool_.Run<bool>([&](pqxx::connection& conn) -> Result<bool> {
        pqxx::work tx(conn);
        const bool held = store::Outbox::RenewLease(tx, kind, job.claim(), config_.instance_id, lease);
        tx.commit();
        return held;
      });
      if (renewed.ok() && !*renewed) spdlog::warn("{}: lease on {} was taken over", source_->noun(), job.Describe());
      lock.lock();
    }
  });
  ExecutionResult result;
  try {
    result = job.Run();
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
  auto job = Claim();
  if (!job) return false;
  const auto started = std::chrono::steady_clock::now();
  const ExecutionResult result = RunLeased(*job);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Complete(*job, result, seconds);
  return true;
}

void OutboxWorker::Complete(OutboxJob& job, const ExecutionResult& result, double seconds) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  auto recorded = pool_.Run<RecordedAttempt>([&](pqxx::connection& conn) -> Result<RecordedAttempt> {
    pqxx::work tx(conn);
    RecordedAttempt out = job.Record(tx, config_.instance_id, result, seconds, jitter);
    tx.commit();
    return out;
  });
  if (!recorded.ok()) {
    spdlog::error("{}: recording {} failed: {} (the lease will expire and it is retried)", source_->noun(),
                  job.Describe(), recorded.error().message);
    return;
  }
  job.Count(*recorded, result, seconds);
  if (recorded->stale) {
    spdlog::warn("{}: {} finished after its lease was taken over; result dropped", source_->noun(), job.Describe());
    return;
  }
  spdlog::info("{}: {}: {}{}", source_->noun(), job.Describe(), recorded->state,
               result.error.empty() ? "" : " (" + result.error + ")");
  if (recorded->again) Wake();
}

}  // namespace backstop::actions
