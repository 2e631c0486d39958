#include "backstop/store/db_pool.hpp"

#include <spdlog/spdlog.h>

namespace backstop::store {

namespace {

constexpr int kMaxTransactionAttempts = 3;
constexpr auto kReconnectBackoff = std::chrono::milliseconds(500);

// Set by RunGuarded when an error suggests the connection is gone; the worker
// then drops the connection and opens a fresh one for the next job.
thread_local bool t_connection_suspect = false;

std::string WithConnectTimeout(const std::string& url, std::chrono::milliseconds timeout) {
  const auto seconds = std::max<long long>(1, (timeout.count() + 999) / 1000);
  const bool is_uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (is_uri) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") +
           "connect_timeout=" + std::to_string(seconds);
  }
  return url + " connect_timeout=" + std::to_string(seconds);
}

}  // namespace

std::unique_ptr<pqxx::connection> DbPool::Connect(const std::string& database_url,
                                                  const config::DatabaseConfig& options) {
  auto conn = std::make_unique<pqxx::connection>(
      WithConnectTimeout(database_url, options.connect_timeout));
  pqxx::nontransaction setup(*conn);
  setup.exec0("SET statement_timeout = " + std::to_string(options.statement_timeout.count()));
  setup.exec0("SET TIME ZONE 'UTC'");
  return conn;
}

Status RunGuarded(pqxx::connection& conn, const std::function<void()>& fn) {
  for (int attempt = 1;; ++attempt) {
    try {
      fn();
      return Ok();
    } catch (const pqxx::broken_connection& e) {
      t_connection_suspect = true;
      spdlog::warn("database connection lost: {}", e.what());
      return Error::Unavailable("database unavailable");
    } catch (const pqxx::in_doubt_error& e) {
      t_connection_suspect = true;
      spdlog::error("database commit outcome unknown: {}", e.what());
      return Error::Unavailable("database commit outcome unknown; retry with the same idempotency key");
    } catch (const pqxx::serialization_failure&) {
      if (attempt >= kMaxTransactionAttempts) return Error::Unavailable("database busy, retry");
    } catch (const pqxx::deadlock_detected&) {
      if (attempt >= kMaxTransactionAttempts) return Error::Unavailable("database busy, retry");
    } catch (const pqxx::sql_error& e) {
      if (!conn.is_open()) {
        t_connection_suspect = true;
        spdlog::warn("database connection lost: {}", e.what());
        return Error::Unavailable("database unavailable");
      }
      // statement_timeout and admin shutdown surface as sql_error too.
      const std::string state = e.sqlstate();
      if (state == "57014" || state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
        if (state != "57014") t_connection_suspect = true;
        spdlog::warn("database unavailable: {} ({})", e.what(), state);
        return Error::Unavailable("database unavailable");
      }
      spdlog::error("database error: {} in query: {}", e.what(), e.query());
      return Error::Internal("database error");
    } catch (const std::exception& e) {
      spdlog::error("database job failed: {}", e.what());
      return Error::Internal("internal error");
    }
  }
}

DbPool::DbPool(std::string database_url, const config::DatabaseConfig& options)
    : database_url_(std::move(database_url)), options_(options) {
  for (int i = 0; i < options_.pool_size; ++i) {
    threads_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

DbPool::~DbPool() {
  std::deque<Job> leftover;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    leftover.swap(queue_);
  }
  cv_.notify_all();
  for (auto& job : leftover) FailSafely(job, Error::Unavailable("shutting down"));
  for (auto& t : threads_) t.join();
}

void DbPool::FailSafely(Job& job, const Error& error) {
  try {
    job.fail(error);
  } catch (const std::exception& e) {
    spdlog::error("database job failure callback threw: {}", e.what());
  }
}

void DbPool::Enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && static_cast<int>(queue_.size()) < options_.queue_limit) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  ++rejected_;
  FailSafely(job, Error::Unavailable("database pool saturated"));
}

DbPoolStats DbPool::Stats() const {
  DbPoolStats s;
  s.size = options_.pool_size;
  s.connected = connected_.load();
  s.busy = busy_.load();
  s.rejected = rejected_.load();
  std::lock_guard lock(mutex_);
  s.queued = static_cast<int>(queue_.size());
  return s;
}

void DbPool::WorkerLoop(int index) {
  std::unique_ptr<pqxx::connection> conn;
  auto next_connect_attempt = std::chrono::steady_clock::time_point{};
  std::uint64_t connects_at_failure = 0;  // connects_ when this thread last failed to connect
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now > job.deadline) {
      ++rejected_;
      FailSafely(job, Error::Unavailable("database request timed out"));
      continue;
    }
    if (conn && !conn->is_open()) {
      conn.reset();
      --connected_;
    }
    if (!conn) {
      // Backing off, unless another thread has connected since this one failed.
      if (now < next_connect_attempt && connects_.load() == connects_at_failure) {
        ++rejected_;
        FailSafely(job, Error::Unavailable("database unavailable"));
        continue;
      }
      const std::uint64_t connects_before = connects_.load();
      try {
        conn = Connect(database_url_, options_);
        ++connected_;
        ++connects_;
        spdlog::info("database pool connection {} open", index);
      } catch (const std::exception& e) {
        next_connect_attempt = std::chrono::steady_clock::now() + kReconnectBackoff;
        connects_at_failure = connects_before;  // a peer connecting meanwhile ends this back-off
        spdlog::warn("database pool connection {} failed: {}", index, e.what());
        ++rejected_;
        FailSafely(job, Error::Unavailable("database unavailable"));
        continue;
      }
    }
    ++busy_;
    t_connection_suspect = false;
    // Work is guarded by RunGuarded; this catches what a completion
    // callback throws, which must not end the worker thread (or the process).
    try {
      job.work(*conn);
    } catch (const std::exception& e) {
      spdlog::error("database job completion failed: {}", e.what());
    }
    --busy_;
    if (t_connection_suspect || !conn->is_open()) {
      conn.reset();
      --connected_;
    }
  }
  if (conn) --connected_;
}

}  // namespace backstop::store
