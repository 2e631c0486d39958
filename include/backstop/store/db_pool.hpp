#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"

namespace backstop::store {

struct DbPoolStats {
  int size = 0;
  int connected = 0;
  int busy = 0;
  int queued = 0;
  std::uint64_t rejected = 0;  // jobs refused because the queue was full or the database down
};

// A bounded pool of PostgreSQL connections, one per worker thread (libpqxx
// connections are not thread-safe). Blocking database work runs here, never
// on the HTTP I/O threads.
//
// Jobs carry a deadline: a job still queued at its deadline fails with
// `unavailable` instead of running late. A broken connection is dropped and
// re-opened on the next job (at most one connect attempt per back-off
// period per thread), so the pool heals by itself when PostgreSQL returns.
// Once any thread has connected again, the others try at once instead of
// waiting out their back-off: PostgreSQL is back, and failing a request
// because its thread is still backing off would stretch the outage.

//
// libpqxx and other exceptions are caught here and turned into Error values:
// broken_connection → unavailable; serialization_failure/deadlock_detected →
// the whole job is retried (up to 3 times); in_doubt_error → unavailable with
// "outcome unknown" (never retried blindly); anything else → internal.
//
// Thread-safe. Destruction stops the threads after failing queued jobs.
class DbPool {
 public:
  using Work = std::function<void(pqxx::connection&)>;
  using Fail = std::function<void(const Error&)>;

  DbPool(std::string database_url, const config::DatabaseConfig& options);
  ~DbPool();
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  // Runs `work` on a pool thread within `timeout`; the result goes to `done`
  // on that thread. `work` must be safe to run more than once (retries).
  template <typename T>
  void Submit(std::function<Result<T>(pqxx::connection&)> work,
              std::function<void(Result<T>)> done, std::chrono::milliseconds timeout);

  // Blocking variant for threads that may block (workers, CLI, tests).
  template <typename T>
  Result<T> Run(std::function<Result<T>(pqxx::connection&)> work,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

  DbPoolStats Stats() const;

  // Opens a standalone connection with the pool's settings (CLI, migrator).
  static std::unique_ptr<pqxx::connection> Connect(const std::string& database_url,
                                                   const config::DatabaseConfig& options);

 private:
  struct Job {
    Work work;
    Fail fail;
    std::chrono::steady_clock::time_point deadline;
  };

  void Enqueue(Job job);
  static void FailSafely(Job& job, const Error& error);
  void WorkerLoop(int index);

  const std::string database_url_;
  const config::DatabaseConfig options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<int> connected_{0};
  std::atomic<std::uint64_t> connects_{0};  // successful connects so far, by any thread
  std::atomic<int> busy_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::vector<std::thread> threads_;
};

// Runs `fn` with the exception policy above. Exposed for the template below.
Status RunGuarded(pqxx::connection& conn, const std::function<void()>& fn);

template <typename T>
void DbPool::Submit(std::function<Result<T>(pqxx::connection&)> work,
                    std::function<void(Result<T>)> done, std::chrono::milliseconds timeout) {
  auto shared_done = std::make_shared<std::function<void(Result<T>)>>(std::move(done));
  Job job;
  job.deadline = std::chrono::steady_clock::now() + timeout;
  job.fail = [shared_done](const Error& e) { (*shared_done)(Result<T>(e)); };
  job.work = [work = std::move(work), shared_done](pqxx::connection& conn) {
    std::optional<Result<T>> out;
    Status status = RunGuarded(conn, [&] { out.emplace(work(conn)); });
    if (!status.ok()) {
      (*shared_done)(Result<T>(status.error()));
    } else {
      (*shared_done)(std::move(*out));
    }
  };
  Enqueue(std::move(job));
}

template <typename T>
Result<T> DbPool::Run(std::function<Result<T>(pqxx::connection&)> work,
                      std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  Submit<T>(std::move(work), [promise](Result<T> r) { promise->set_value(std::move(r)); }, timeout);
  return future.get();
}

}  // namespace backstop::store
