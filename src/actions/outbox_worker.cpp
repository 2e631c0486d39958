#include "backstop/actions/outbox_worker.hpp"

#include <random>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "backstop/actions/delivery.hpp"
#include "backstop/audit/audit_repository.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/config/glob.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::actions {

namespace {

constexpr int kWorkers = 2;
constexpr auto kPollInterval = std::chrono::milliseconds(250);  // retries and expired leases
constexpr Millis kLeaseSlack{10000};  // DESIGN: lease = executor timeout + 10 s
constexpr const char* kChannel = "backstop_actions";

constexpr const char* kClaim =
    "UPDATE actions a SET state = 'running', lease_owner = $1, "
    "lease_expires_at = now() + $2 * interval '1 millisecond', attempts = a.attempts + 1, updated_at = now() "
    "WHERE a.id = (SELECT id FROM actions WHERE ((state = 'pending' AND next_attempt_at <= now()) "
    "OR (state = 'running' AND lease_expires_at < now())) "
    // freeze stops automatic actions only; rollbacks approved by humans still execute
    "AND NOT (decided_by = 'auto' AND (SELECT mode FROM controller_mode) = 'freeze') "
    "ORDER BY next_attempt_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING a.id, a.release_id, a.service, a.environment, a.release_class, a.from_version, a.to_version, "
    "a.decided_by, a.approvers::text, a.reasons::text, a.attempts, a.action_type";
constexpr const char* kRenew =
    "UPDATE actions SET lease_expires_at = now() + $4 * interval '1 millisecond' "
    "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'";
constexpr const char* kReclaimOwn =
    "UPDATE actions SET lease_expires_at = now() WHERE state = 'running' AND lease_owner = $1";

std::vector<std::string> StringArray(const std::string& json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (x.is_string()) out.emplace_back(x.as_string());
  }
  return out;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSucceeded: return "succeeded";
    case Outcome::kRetry: return "retry";
    case Outcome::kFailed: return "failed";
  }
  return "failed";
}

// Receives NOTIFY on the actions channel.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, OutboxWorker& worker) : notification_receiver(conn, kChannel), worker_(worker) {}
  void operator()(const std::string&, int) override { worker_.Wake(); }

 private:
  OutboxWorker& worker_;
};

}  // namespace

struct OutboxWorker::Claimed {
  ActionRequest request;
  std::string release_class;
  std::string action_type;
};

OutboxWorker::OutboxWorker(store::DbPool& pool, policy::PolicyRegistry& registry, metrics::Metrics& metrics,
                           const config::Config& config, std::vector<std::shared_ptr<Executor>> executors)
    : pool_(pool), registry_(registry), metrics_(metrics), config_(config), executors_(std::move(executors)) {}

OutboxWorker::~OutboxWorker() { Stop(); }

Millis OutboxWorker::Lease() const {
  Millis longest{0};
  for (const auto& e : config_.executors) longest = std::max(longest, e.timeout);
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
    const auto r = tx.exec_params(kReclaimOwn, config_.instance_id);
    tx.commit();
    return static_cast<std::int64_t>(r.affected_rows());
  });
  if (reclaimed.ok() && *reclaimed > 0) {
    spdlog::warn("executor: reclaimed {} action lease(s) held by this instance ({}) before a restart",
                 *reclaimed, config_.instance_id);
  }
  for (int i = 0; i < kWorkers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
  threads_.emplace_back([this] { ListenLoop(); });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void OutboxWorker::Wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakeups_;
  }
  cv_.notify_all();
}

void OutboxWorker::ListenLoop() {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    try {
      auto conn = store::DbPool::Connect(config_.database_url, config_.database);
      Receiver receiver(*conn, *this);
      Wake();  // anything queued while not listening
      while (true) {
        {
          std::lock_guard lock(mutex_);
          if (stopping_) return;
        }
        conn->await_notification(0, 200000);
      }
    } catch (const std::exception& e) {
      spdlog::warn("executor: notification listener: {}; retrying", e.what());
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, kPollInterval, [this] { return stopping_; });
    }
  }
}

void OutboxWorker::WorkerLoop() {
  while (true) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
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
      cv_.wait_for(lock, kPollInterval, [&] { return stopping_ || wakeups_ != seen; });
    }
  }
}

std::optional<OutboxWorker::Claimed> OutboxWorker::Claim() {
  auto claimed = pool_.Run<std::optional<Claimed>>([this](pqxx::connection& conn) -> Result<std::optional<Claimed>> {
    pqxx::work tx(conn);
    const pqxx::result r =
        tx.exec_params(kClaim, config_.instance_id, static_cast<std::int64_t>(Lease().count()));
    if (r.empty()) return std::optional<Claimed>{};
    const auto& row = r[0];
    Claimed c;
    c.request.action_id = row[0].as<std::string>();
    c.request.release_id = row[1].as<std::string>();
    c.request.service = row[2].as<std::string>();
    c.request.environment = row[3].as<std::string>();
    c.release_class = row[4].as<std::string>();
    c.request.from_version = row[5].as<std::string>();
    if (!row[6].is_null()) c.request.to_version = row[6].as<std::string>();
    c.request.decided_by = row[7].as<std::string>();
    c.request.approvers = StringArray(row[8].as<std::string>());
    c.request.reasons = StringArray(row[9].as<std::string>());
    c.request.attempt = row[10].as<int>();
    c.action_type = row[11].as<std::string>();
    tx.exec_params0("INSERT INTO action_attempts (action_id, attempt, worker) VALUES ($1, $2, $3) "
                    "ON CONFLICT (action_id, attempt) DO NOTHING",
                    c.request.action_id, c.request.attempt, config_.instance_id);
    boost::json::object payload{{"action_id", c.request.action_id}, {"attempt", c.request.attempt},
                                {"worker", config_.instance_id}};
    audit::AuditRepository::Append(tx, audit::AuditEvent{"system", "action.attempted", c.request.release_id,
                                                         boost::json::serialize(payload)});
    tx.commit();
    return std::optional<Claimed>(std::move(c));
  });
  if (!claimed.ok()) {
    spdlog::warn("executor: claim failed: {}", claimed.error().message);
    return std::nullopt;
  }
  return *claimed;
}

bool OutboxWorker::RunOnce() {
  auto claimed = Claim();
  if (!claimed) return false;
  const Claimed& c = *claimed;
  auto [cfg, executor] = ExecutorFor(c.request.service);
  ExecutionResult result;
  const auto started = std::chrono::steady_clock::now();
  if (executor == nullptr) {
    result.outcome = Outcome::kFailed;
    result.error = "no executor matches service " + c.request.service;
  } else if (c.request.attempt > cfg->max_attempts) {
    // Taken over from expired leases more often than allowed (the holders
    // died mid-attempt): stop and ask a human rather than loop forever.
    result.outcome = Outcome::kFailed;
    result.error = "attempt " + std::to_string(c.request.attempt) + " exceeds max_attempts (" +
                   std::to_string(cfg->max_attempts) + ") after lost leases";
  } else {
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
          const auto r = tx.exec_params(kRenew, c.request.action_id, config_.instance_id, c.request.attempt,
                                        static_cast<std::int64_t>(Lease().count()));
          tx.commit();
          return r.affected_rows() == 1;
        });
        if (renewed.ok() && !*renewed) {
          spdlog::warn("executor: lease on action {} attempt {} was taken over", c.request.action_id,
                       c.request.attempt);
        }
        lock.lock();
      }
    });
    try {
      result = executor->Execute(c.request);
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
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string executor_name = executor ? executor->name() : "none";
  metrics_.CountActionAttempt(executor_name, OutcomeName(result.outcome));
  metrics_.ObserveActionDuration(seconds);
  Complete(c, result, seconds, cfg != nullptr ? cfg->max_attempts : 1, executor_name);
  return true;
}

void OutboxWorker::Complete(const Claimed& c, const ExecutionResult& r, double seconds, int max_attempts,
                            const std::string& executor) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const Outcome final_outcome =
      r.outcome == Outcome::kRetry && c.request.attempt >= max_attempts ? Outcome::kFailed : r.outcome;
  struct Recorded {
    bool stale = false;
    std::string state;
  };
  auto recorded = pool_.Run<Recorded>([&](pqxx::connection& conn) -> Result<Recorded> {
    pqxx::work tx(conn);
    const std::string state = final_outcome == Outcome::kSucceeded ? "succeeded"
                              : final_outcome == Outcome::kRetry   ? "pending"
                                                                   : "failed";
    const std::int64_t delay_ms =
        final_outcome == Outcome::kRetry ? BackoffDelay(c.request.attempt, jitter).count() : 0;
    const std::optional<std::string> error =
        r.error.empty() ? std::nullopt : std::optional<std::string>(SanitizeOutput(r.error, 2048));
    // Fenced: only the holder of this attempt's lease records its outcome.
    const pqxx::result fenced = tx.exec_params(
        "UPDATE actions SET state = $4, lease_owner = NULL, lease_expires_at = NULL, last_error = $5, "
        "executor = $6, next_attempt_at = now() + $7 * interval '1 millisecond', updated_at = now(), "
        "finished_at = CASE WHEN $4 IN ('succeeded', 'failed') THEN now() END "
        "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running' RETURNING id",
        c.request.action_id, config_.instance_id, c.request.attempt, state, error,
        executor, delay_ms);
    if (fenced.empty()) return Recorded{true, state};
    tx.exec_params0(
        "UPDATE action_attempts SET finished_at = now(), outcome = $3, http_status = $4, exit_code = $5, "
        "output = $6 WHERE action_id = $1 AND attempt = $2",
        c.request.action_id, c.request.attempt, std::string(OutcomeName(r.outcome)), r.http_status, r.exit_code,
        r.output);
    // Lock order: release row before the audit head.
    auto release = store::ReleaseRepository::Lock(tx, c.request.release_id);
    boost::json::object payload{{"action_id", c.request.action_id},
                                {"attempt", c.request.attempt},
                                {"outcome", OutcomeName(r.outcome)},
                                {"seconds", seconds}};
    if (r.http_status) payload["http_status"] = *r.http_status;
    if (r.exit_code) payload["exit_code"] = *r.exit_code;
    if (!r.error.empty()) payload["error"] = r.error;
    if (final_outcome == Outcome::kSucceeded) {
      tx.exec_params0("UPDATE releases SET status = 'rolled_back', updated_at = now() WHERE id = $1 "
                      "AND status = 'rolling_back'",
                      c.request.release_id);
      audit::AuditRepository::Append(tx, audit::AuditEvent{"system", "action.succeeded", c.request.release_id,
                                                           boost::json::serialize(payload)});
    } else if (final_outcome == Outcome::kRetry) {
      payload["retry_in_ms"] = delay_ms;
      audit::AuditRepository::Append(tx, audit::AuditEvent{"system", "action.attempt_failed",
                                                           c.request.release_id, boost::json::serialize(payload)});
    } else {
      // A human takes over: the release is rollback_failed with a fresh escalation.
      tx.exec_params0("UPDATE releases SET status = 'rollback_failed', updated_at = now() WHERE id = $1",
                      c.request.release_id);
      std::optional<std::string> escalation_id;
      if (release && !store::EscalationRepository::HasPending(tx, release->id)) {
        const auto set = registry_.Find(release->release_class, release->thresholds_version);
        store::NewEscalation e;
        e.release_id = release->id;
        e.service = release->service;
        e.environment = release->environment;
        e.release_class = release->release_class;
        e.proposed_type = c.action_type;
        e.from_version = c.request.from_version;
        e.to_version = c.request.to_version;
        e.reasons = R"(["rollback.failed"])";
        e.evidence = boost::json::serialize(boost::json::object{
            {"action_id", c.request.action_id}, {"attempts", c.request.attempt}, {"last_error", r.error}});
        e.summary = release->service + " " + release->version + " in " + release->environment +
                    ": the rollback to " + c.request.to_version.value_or("?") + " failed after " +
                    std::to_string(c.request.attempt) + " attempt(s): " + r.error;
        e.required_approvals = set ? set->RequiredApprovals() : 1;
        e.ttl = set ? set->approval_ttl : Millis(7200000);
        escalation_id = store::EscalationRepository::Open(tx, e).id;
      }
      payload["escalation_id"] = escalation_id ? boost::json::value(*escalation_id) : nullptr;
      audit::AuditRepository::Append(tx, audit::AuditEvent{"system", "action.failed", c.request.release_id,
                                                           boost::json::serialize(payload)});
    }
    tx.commit();
    return Recorded{false, state};
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
  if (recorded->state == "succeeded" || recorded->state == "failed") {
    metrics_.CountRollback(c.request.decided_by, recorded->state);
  }
  spdlog::info("executor: action {} attempt {}: {}{}", c.request.action_id, c.request.attempt, recorded->state,
               r.error.empty() ? "" : " (" + r.error + ")");
  if (recorded->state == "pending") Wake();
}

}  // namespace backstop::actions
