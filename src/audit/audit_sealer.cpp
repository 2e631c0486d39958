#include "backstop/audit/audit_sealer.hpp"

#include <spdlog/spdlog.h>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/store/db_pool.hpp"

namespace backstop::audit {

namespace {

// Readers seal in batches of this size until nothing committed is left.
constexpr int kReaderBatch = 5000;
// After a failure (database down), the next try comes after this.
constexpr Millis kRetryAfter{500};

}  // namespace

std::int64_t SealCommitted(pqxx::connection& conn) {
  std::int64_t total = 0;
  for (;;) {
    pqxx::work tx(conn);
    const SealPass pass = AuditRepository::SealPending(tx, SealerLock::kWait, kReaderBatch);
    tx.commit();
    total += pass.sealed;
    if (pass.sealed < kReaderBatch) return total;
  }
}

AuditSealer::AuditSealer(std::string database_url, config::DatabaseConfig database, Options options)
    : database_url_(std::move(database_url)), database_(database), options_(options) {}

AuditSealer::~AuditSealer() { Stop(); }

void AuditSealer::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void AuditSealer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void AuditSealer::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void AuditSealer::Loop(std::stop_token stop) {
  std::unique_ptr<pqxx::connection> conn;
  bool failing = false;
  while (!stop.stop_requested()) {
    Millis wait = options_.interval;
    try {
      if (!conn || !conn->is_open()) conn = store::DbPool::Connect(database_url_, database_);
      pqxx::work tx(*conn);
      const SealPass pass = AuditRepository::SealPending(tx, SealerLock::kTry, options_.batch);
      tx.commit();
      sealed_ += pass.sealed;
      if (options_.on_sealed && !pass.delays_seconds.empty()) options_.on_sealed(pass.delays_seconds);
      if (failing) spdlog::info("audit sealer: sealing again");
      failing = false;
      if (pass.sealed == options_.batch) wait = Millis(0);  // more are waiting
    } catch (const std::exception& e) {
      // Nothing is lost: unsealed entries wait in the table for the next pass.
      if (!failing) spdlog::warn("audit sealer: {}; retrying", e.what());
      failing = true;
      conn.reset();
      wait = kRetryAfter;
    }
    if (wait.count() == 0) continue;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, stop, wait, [this] { return woken_; });
    woken_ = false;
  }
  // A last pass, so a process stopping on its own leaves nothing it wrote
  // waiting for another process (or its restart) to seal it.
  try {
    if (conn && conn->is_open()) {
      pqxx::work tx(*conn);
      sealed_ += AuditRepository::SealPending(tx, SealerLock::kTry, options_.batch).sealed;
      tx.commit();
    }
  } catch (const std::exception& e) {
    spdlog::warn("audit sealer: last pass: {}", e.what());
  }
}

}  // namespace backstop::audit
