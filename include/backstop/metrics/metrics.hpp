#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
  // HTTP connections: open now; closed at once past http.max_connections;
  // closed by a timeout while idle, reading headers or reading a body.
  void SetConnectionsOpen(int n) { connections_open_.Set(n); }
  void CountConnectionRejected() { connections_rejected_.Increment(); }
  void CountConnectionTimeout(const std::string& phase);
  void SetAuditHead(std::int64_t seq, const std::string& hash);

  // Releases and thresholds.
  void CountDeployment(const std::string& release_class, const std::string& environment);
  void SetReleasesActive(std::int64_t n) { releases_active_.Set(static_cast<double>(n)); }
  void SetThresholdSetsLoaded(std::size_t n) { threshold_sets_loaded_.Set(static_cast<double>(n)); }
  void CountThresholdRejection(const std::string& reason);

  // Telemetry and evaluation.
  void CountSamples(const std::string& result, std::int64_t n);
  void SetSeriesActive(std::int64_t n) { series_active_.Set(static_cast<double>(n)); }
  void CountEvaluation() { evaluations_.Increment(); }
  void CountDecision(const std::string& decision);
  void CountConflict(const std::string& kind);
  void SetEscalationsPending(std::int64_t n) { escalations_pending_.Set(static_cast<double>(n)); }
  // A decision the core made whose transaction failed; and how many releases are in that state now.
  void CountDecisionCommitFailure() { decision_commit_failures_.Increment(); }
  void SetDecisionsUncommitted(std::size_t n) { decisions_uncommitted_.Set(static_cast<double>(n)); }
  void ObserveDecisionLatency(double seconds) { decision_latency_.Observe(seconds); }
  // From an audit entry's INSERT to its sealing, per entry the background sealer of this process sealed.
  void ObserveAuditSealingDelay(double seconds) { audit_sealing_delay_.Observe(seconds); }

  // Telemetry pulled from metrics stores (INTEGRATIONS §1), by source name
  // (configured, so bounded). RegisterPullSource starts a source's series at
  // zero; `results` are the result label values (pull::AllPullResults).
  void RegisterPullSource(const std::string& source, const std::vector<std::string>& results);
  void CountPull(const std::string& source, const std::string& result);
  void ObservePullDuration(const std::string& source, double seconds);
  void CountPulledSamples(const std::string& source, std::int64_t n);
  void CountPullNonFinite(const std::string& source, std::int64_t n);
  void CountPullUnmatched(const std::string& source, std::int64_t n);

  // Escalations and approvals.
  void CountEscalation(const std::string& reason);
  void CountApproval(const std::string& result);
  void ObserveTimeToDecision(double seconds) { time_to_decision_.Observe(seconds); }

  // Rollback execution.
  void CountRollback(const std::string& decided_by, const std::string& result);
  void CountActionAttempt(const std::string& executor, const std::string& result);
  void ObserveActionDuration(double seconds) { action_duration_.Observe(seconds); }
  void CountStaleCompletion() { stale_completions_.Increment(); }
  void SetActionsPending(std::int64_t n) { actions_pending_.Set(static_cast<double>(n)); }

  // Notifications (notifier names come from the config: bounded).
  void CountNotification(const std::string& notifier, const std::string& event, const std::string& result);
  void SetNotificationsPending(std::int64_t n) { notifications_pending_.Set(static_cast<double>(n)); }
  // Integrations (INTEGRATIONS.md §2, §3). `integration` is argo-rollouts,
  // flagger, cdevents or github; `result` one of a small fixed set
  // (proceed, hold, rollback, allowed, refused, recorded, registered,
  // redelivered, ignored, invalid, unauthorized, forbidden, conflict,
  // unavailable, error).
  void CountIntegrationRequest(const std::string& integration, const std::string& result);
  // A gate action handed out to `integration` (argo-rollouts, flagger).
  void CountGateHandout(const std::string& integration);
  // A gate action that was not handed out within its executor's timeout.
  void CountGateTimeout() { gate_timeouts_.Increment(); }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Gauge& connections_open_;
  prometheus::Counter& connections_rejected_;
  prometheus::Family<prometheus::Counter>& connections_timed_out_;
  prometheus::Family<prometheus::Gauge>& db_pool_;
  prometheus::Gauge& db_queue_;
  prometheus::Gauge& audit_head_seq_;
  prometheus::Family<prometheus::Gauge>& audit_head_info_;
  prometheus::Family<prometheus::Counter>& deployments_;
  prometheus::Gauge& releases_active_;
  prometheus::Gauge& threshold_sets_loaded_;
  prometheus::Family<prometheus::Counter>& threshold_rejections_;
  prometheus::Family<prometheus::Counter>& samples_;
  prometheus::Gauge& series_active_;
  prometheus::Counter& evaluations_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& conflicts_;
  prometheus::Counter& decision_commit_failures_;
  prometheus::Gauge& decisions_uncommitted_;
  prometheus::Gauge& escalations_pending_;
  prometheus::Histogram& decision_latency_;
  prometheus::Histogram& audit_sealing_delay_;
  prometheus::Family<prometheus::Counter>& pulls_;
  prometheus::Family<prometheus::Histogram>& pull_duration_;
  prometheus::Family<prometheus::Counter>& pull_samples_;
  prometheus::Family<prometheus::Counter>& pull_nonfinite_;
  prometheus::Family<prometheus::Counter>& pull_unmatched_;
  prometheus::Family<prometheus::Counter>& escalations_;
  prometheus::Family<prometheus::Counter>& approvals_;
  prometheus::Histogram& time_to_decision_;
  prometheus::Family<prometheus::Counter>& rollbacks_;
  prometheus::Family<prometheus::Counter>& action_attempts_;
  prometheus::Histogram& action_duration_;
  prometheus::Counter& stale_completions_;
  prometheus::Gauge& actions_pending_;
  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Gauge& notifications_pending_;
  prometheus::Family<prometheus::Counter>& integration_requests_;
  prometheus::Family<prometheus::Counter>& gate_handouts_;
  prometheus::Counter& gate_timeouts_;

  std::mutex audit_head_mutex_;
  prometheus::Gauge* audit_head_hash_ = nullptr;
};

}  // namespace backstop::metrics
