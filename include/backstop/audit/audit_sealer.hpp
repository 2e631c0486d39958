#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/config/config.hpp"

namespace backstop::audit {

// Seals every entry committed before the call, waiting for the sealer lock
// if another sealer holds it. Reads of the audit log (list, verify, the
// exported head) call it first, so an entry committed before a read is
// always sealed, and shown, by the time the read runs. Returns how many
// entries this call sealed.
std::int64_t SealCommitted(pqxx::connection& conn);

// The background sealer: every process runs one; the one that gets the
// sealer lock (the audit_head row) seals, the others skip the pass. Each
// pass is a short transaction of its own on a dedicated connection, every
// `interval` and at once again while batches come back full, so an entry
// is sealed within about `interval` of its commit under load. A process
// that dies mid-pass rolls back; the next pass, in any process, seals the
// same entries.
//
// Thread-safe: Start and Stop from one thread; Wake from any.
class AuditSealer {
 public:
  struct Options {
    Millis interval{20};
    int batch = 1000;
    // Called on the sealer's thread after each committed pass with each
    // sealed entry's delay from INSERT to sealing (the metrics histogram).
    std::function<void(const std::vector<double>& delays_seconds)> on_sealed;
  };

  AuditSealer(std::string database_url, config::DatabaseConfig database, Options options);
  ~AuditSealer();
  AuditSealer(const AuditSealer&) = delete;
  AuditSealer& operator=(const AuditSealer&) = delete;

  void Start();
  void Stop();
  // Runs a pass now (e.g. after this process committed audited work).
  void Wake();

  // Entries sealed by this process so far.
  std::int64_t sealed() const { return sealed_.load(); }

 private:
  void Loop(std::stop_token stop);

  const std::string database_url_;
  const config::DatabaseConfig database_;
  const Options options_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  std::atomic<std::int64_t> sealed_{0};
  std::jthread thread_;
};

}  // namespace backstop::audit
