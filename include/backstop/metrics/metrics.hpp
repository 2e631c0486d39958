#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace backstop::metrics {

// Every metric family, registered once at start-up (registration may throw;
// the hot path must not). Labels stay low-cardinality: route patterns,
// status codes, classes, environments, outcomes — never ids or versions.
// Thread-safe: prometheus-cpp metrics are atomic.
class Metrics {
 public:
  explicit Metrics(const std::string& version);

  prometheus::Registry& registry() { return *registry_; }

  // Text exposition of the whole registry.
  std::string Serialize() const;

  void ObserveRequest(const std::string& route, const std::string& method, int status,
                      double seconds);
  void SetDbPool(int size, int connected, int busy, int queued);
  void SetAuditHead(std::int64_t seq, const std::string& hash);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Gauge>& db_pool_;
  prometheus::Gauge& db_queue_;
  prometheus::Gauge& audit_head_seq_;
  prometheus::Family<prometheus::Gauge>& audit_head_info_;

  std::mutex audit_head_mutex_;
  prometheus::Gauge* audit_head_hash_ = nullptr;
};

}  // namespace backstop::metrics
