#include "backstop/metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace backstop::metrics {

namespace {

const prometheus::Histogram::BucketBoundaries kLatencyBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

}  // namespace

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("backstop_http_requests_total")
                         .Help("HTTP requests by route pattern, method and status")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("backstop_http_request_duration_seconds")
                         .Help("HTTP request duration by route pattern")
                         .Register(*registry_)),
      connections_open_(prometheus::BuildGauge()
                            .Name("backstop_http_connections_open")
                            .Help("HTTP connections open now")
                            .Register(*registry_)
                            .Add({})),
      connections_rejected_(prometheus::BuildCounter()
                                .Name("backstop_http_connections_rejected_total")
                                .Help("Connections closed at once because http.max_connections were open")
                                .Register(*registry_)
                                .Add({})),
      connections_timed_out_(prometheus::BuildCounter()
                                 .Name("backstop_http_connections_timed_out_total")
                                 .Help("Connections closed by a timeout, by phase (idle, header, body)")
                                 .Register(*registry_)),
      db_pool_(prometheus::BuildGauge()
                   .Name("backstop_db_pool_connections")
                   .Help("Database pool connections by state (size, connected, busy)")
                   .Register(*registry_)),
      db_queue_(prometheus::BuildGauge()
                    .Name("backstop_db_pool_queue_depth")
                    .Help("Database jobs waiting for a connection")
                    .Register(*registry_)
                    .Add({})),
      audit_head_seq_(prometheus::BuildGauge()
                          .Name("backstop_audit_head_seq")
                          .Help("Sequence number of the newest audit log entry")
                          .Register(*registry_)
                          .Add({})),
      audit_head_info_(prometheus::BuildGauge()
                           .Name("backstop_audit_head_info")
                           .Help("Hash of the newest audit log entry (value is its seq)")
                           .Register(*registry_)),
      deployments_(prometheus::BuildCounter()
                       .Name("backstop_deployments_total")
                       .Help("Releases registered, by release class and environment")
                       .Register(*registry_)),
      releases_active_(prometheus::BuildGauge()
                           .Name("backstop_releases_active")
                           .Help("Releases evaluating, escalated or rolling back")
                           .Register(*registry_)
                           .Add({})),
      threshold_sets_loaded_(prometheus::BuildGauge()
                                 .Name("backstop_threshold_sets_loaded")
                                 .Help("Threshold set versions stored and in memory")
                                 .Register(*registry_)
                                 .Add({})),
      threshold_rejections_(prometheus::BuildCounter()
                                .Name("backstop_threshold_rejections_total")
                                .Help("Threshold files rejected, by reason (invalid, version_conflict)")
                                .Register(*registry_)),
      samples_(prometheus::BuildCounter()
                   .Name("backstop_telemetry_samples_total")
                   .Help("Telemetry samples by result (accepted, rejected, series_limit)")
                   .Register(*registry_)),
      series_active_(prometheus::BuildGauge()
                         .Name("backstop_series_active")
                         .Help("Telemetry series held in memory")
                         .Register(*registry_)
                         .Add({})),
      evaluations_(prometheus::BuildCounter()
                       .Name("backstop_evaluations_total")
                       .Help("Release evaluations run")
                       .Register(*registry_)
                       .Add({})),
      decisions_(prometheus::BuildCounter()
                     .Name("backstop_decisions_total")
                     .Help("Decisions committed, by decision")
                     .Register(*registry_)),
      conflicts_(prometheus::BuildCounter()
                     .Name("backstop_conflicts_total")
                     .Help("Signal conflicts detected (each time one appears), by kind")
                     .Register(*registry_)),
      decision_commit_failures_(prometheus::BuildCounter()
                                    .Name("backstop_decision_commit_failures_total")
                                    .Help("Decisions the evaluator made but could not commit (retried each tick)")
                                    .Register(*registry_)
                                    .Add({})),
      decisions_uncommitted_(prometheus::BuildGauge()
                                 .Name("backstop_decisions_uncommitted")
                                 .Help("Releases whose latest decision failed to commit and has not since")
                                 .Register(*registry_)
                                 .Add({})),
      escalations_pending_(prometheus::BuildGauge()
                               .Name("backstop_escalations_pending")
                               .Help("Escalations waiting for a human")
                               .Register(*registry_)
                               .Add({})),
      decision_latency_(prometheus::BuildHistogram()
                            .Name("backstop_decision_latency_seconds")
                            .Help("From the arrival of the telemetry that made a decision to its commit")
                            .Register(*registry_)
                            .Add({}, kLatencyBuckets)),
      audit_sealing_delay_(prometheus::BuildHistogram()
                               .Name("backstop_audit_sealing_delay_seconds")
                               .Help("From an audit entry's INSERT to its sealing (seq and hash assigned), per "
                                     "entry sealed by this process's background sealer")
                               .Register(*registry_)
                               .Add({}, kLatencyBuckets)),
      pulls_(prometheus::BuildCounter()
                 .Name("backstop_telemetry_pulls_total")
                 .Help("Queries pulled from telemetry sources, by source and result (ok, query_error, "
                       "unavailable, timeout, http_error, bad_response, warnings)")
                 .Register(*registry_)),
      pull_duration_(prometheus::BuildHistogram()
                         .Name("backstop_telemetry_pull_duration_seconds")
                         .Help("Duration of one query to a telemetry source, answer read and parsed")
                         .Register(*registry_)),
      pull_samples_(prometheus::BuildCounter()
                        .Name("backstop_telemetry_pull_samples_total")
                        .Help("Samples pulled from telemetry sources into the windows")
                        .Register(*registry_)),
      pull_nonfinite_(prometheus::BuildCounter()
                          .Name("backstop_telemetry_pull_nonfinite_total")
                          .Help("Pulled values of active releases that were NaN or infinite (no sample)")
                          .Register(*registry_)),
      pull_unmatched_(prometheus::BuildCounter()
                          .Name("backstop_telemetry_pull_unmatched_series_total")
                          .Help("Pulled result series dropped: no active release's canary or baseline")
                          .Register(*registry_)),
      escalations_(prometheus::BuildCounter()
                       .Name("backstop_escalations_total")
                       .Help("Escalations opened, counted once per reason they carry")
                       .Register(*registry_)),
      approvals_(prometheus::BuildCounter()
                     .Name("backstop_approvals_total")
                     .Help("Approve/reject calls by result (approved, recorded, rejected, or the refusal code)")
                     .Register(*registry_)),
      time_to_decision_(prometheus::BuildHistogram()
                            .Name("backstop_escalation_time_to_decision_seconds")
                            .Help("From an escalation's opening to its approval or rejection")
                            .Register(*registry_)
                            .Add({}, prometheus::Histogram::BucketBoundaries{
                                         10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400})),
      rollbacks_(prometheus::BuildCounter()
                     .Name("backstop_rollbacks_total")
                     .Help("Rollback actions finished, by who decided (auto, approval) and result")
                     .Register(*registry_)),
      action_attempts_(prometheus::BuildCounter()
                           .Name("backstop_action_attempts_total")
                           .Help("Executor attempts by executor and result (succeeded, retry, failed)")
                           .Register(*registry_)),
      action_duration_(prometheus::BuildHistogram()
                           .Name("backstop_action_duration_seconds")
                           .Help("Duration of one executor attempt")
                           .Register(*registry_)
                           .Add({}, kLatencyBuckets)),
      stale_completions_(prometheus::BuildCounter()
                             .Name("backstop_action_stale_completions_total")
                             .Help("Attempt results dropped because the lease had been taken over")
                             .Register(*registry_)
                             .Add({})),
      actions_pending_(prometheus::BuildGauge()
                           .Name("backstop_actions_pending")
                           .Help("Actions pending or running")
                           .Register(*registry_)
                           .Add({})),
      notifications_(prometheus::BuildCounter()
                         .Name("backstop_notifications_total")
                         .Help("Notification attempts by notifier, event and result (succeeded, retry, failed)")
                         .Register(*registry_)),
      notifications_pending_(prometheus::BuildGauge()
                                 .Name("backstop_notifications_pending")
                                 .Help("Notifications pending or running")
                                 .Register(*registry_)
                                 .Add({})),
      integration_requests_(prometheus::BuildCounter()
                                .Name("backstop_integration_requests_total")
                                .Help("Gate calls and deploy events by integration and result")
                                .Register(*registry_)),
      gate_handouts_(prometheus::BuildCounter()
                         .Name("backstop_gate_handouts_total")
                         .Help("Gate actions handed out, by the integration that picked them up")
                         .Register(*registry_)),
      gate_timeouts_(prometheus::BuildCounter()
                         .Name("backstop_gate_timeouts_total")
                         .Help("Gate actions that failed because no gate answer picked them up in time")
                         .Register(*registry_)
                         .Add({})) {
  // Series with a known, small label set start at zero, so dashboards and
  // alerts see them before the first event.
  for (const char* r : {"accepted", "rejected", "series_limit"}) samples_.Add({{"result", r}});
  for (const char* p : {"idle", "header", "body"}) connections_timed_out_.Add({{"phase", p}});
  for (const char* d : {"auto_rollback", "escalate", "would_rollback", "would_escalate", "healthy"}) {
    decisions_.Add({{"decision", d}});
  }
  for (const char* k : {"conflict.baseline_degraded", "conflict.source_disagreement", "conflict.flapping"}) {
    conflicts_.Add({{"kind", k}});
  }
  for (const char* r : {"invalid", "version_conflict"}) threshold_rejections_.Add({{"reason", r}});
  for (const char* r : {"approved", "recorded", "rejected"}) approvals_.Add({{"result", r}});
  for (const char* by : {"auto", "approval"}) {
    for (const char* r : {"succeeded", "failed"}) rollbacks_.Add({{"decided_by", by}, {"result", r}});
  }
  for (const char* r : {"proceed", "hold", "rollback"}) integration_requests_.Add({{"integration", "argo-rollouts"}, {"result", r}});
  for (const char* r : {"allowed", "refused", "recorded"}) integration_requests_.Add({{"integration", "flagger"}, {"result", r}});
  for (const char* i : {"cdevents", "github"}) {
    for (const char* r : {"registered", "redelivered", "ignored"}) integration_requests_.Add({{"integration", i}, {"result", r}});
  }
  for (const char* i : {"argo-rollouts", "flagger"}) gate_handouts_.Add({{"integration", i}});
  prometheus::BuildGauge()
      .Name("backstop_build_info")
      .Help("Backstop build information")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
}

std::string Metrics::Serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status,
                             double seconds) {
  http_requests_.Add({{"route", route}, {"method", method}, {"status", std::to_string(status)}})
      .Increment();
  http_duration_.Add({{"route", route}}, kLatencyBuckets).Observe(seconds);
}

void Metrics::SetDbPool(int size, int connected, int busy, int queued) {
  db_pool_.Add({{"state", "size"}}).Set(size);
  db_pool_.Add({{"state", "connected"}}).Set(connected);
  db_pool_.Add({{"state", "busy"}}).Set(busy);
  db_queue_.Set(queued);
}

void Metrics::CountConnectionTimeout(const std::string& phase) {
  connections_timed_out_.Add({{"phase", phase}}).Increment();
}

void Metrics::SetAuditHead(std::int64_t seq, const std::string& hash) {
  audit_head_seq_.Set(static_cast<double>(seq));
  // Exactly one series at a time: the previous head's series is removed.
  std::lock_guard lock(audit_head_mutex_);
  if (audit_head_hash_ != nullptr) audit_head_info_.Remove(audit_head_hash_);
  audit_head_hash_ = &audit_head_info_.Add({{"hash", hash}});
  audit_head_hash_->Set(static_cast<double>(seq));
}

void Metrics::RegisterPullSource(const std::string& source, const std::vector<std::string>& results) {
  for (const std::string& result : results) pulls_.Add({{"source", source}, {"result", result}});
  pull_duration_.Add({{"source", source}}, kLatencyBuckets);
  pull_samples_.Add({{"source", source}});
  pull_nonfinite_.Add({{"source", source}});
  pull_unmatched_.Add({{"source", source}});
}

void Metrics::CountPull(const std::string& source, const std::string& result) {
  pulls_.Add({{"source", source}, {"result", result}}).Increment();
}

void Metrics::ObservePullDuration(const std::string& source, double seconds) {
  pull_duration_.Add({{"source", source}}, kLatencyBuckets).Observe(seconds);
}

void Metrics::CountPulledSamples(const std::string& source, std::int64_t n) {
  if (n > 0) pull_samples_.Add({{"source", source}}).Increment(static_cast<double>(n));
}

void Metrics::CountPullNonFinite(const std::string& source, std::int64_t n) {
  if (n > 0) pull_nonfinite_.Add({{"source", source}}).Increment(static_cast<double>(n));
}

void Metrics::CountPullUnmatched(const std::string& source, std::int64_t n) {
  if (n > 0) pull_unmatched_.Add({{"source", source}}).Increment(static_cast<double>(n));
}

void Metrics::CountDeployment(const std::string& release_class, const std::string& environment) {
  deployments_.Add({{"release_class", release_class}, {"environment", environment}}).Increment();
}

void Metrics::CountThresholdRejection(const std::string& reason) {
  threshold_rejections_.Add({{"reason", reason}}).Increment();
}

void Metrics::CountSamples(const std::string& result, std::int64_t n) {
  if (n > 0) samples_.Add({{"result", result}}).Increment(static_cast<double>(n));
}

void Metrics::CountDecision(const std::string& decision) {
  decisions_.Add({{"decision", decision}}).Increment();
}

void Metrics::CountEscalation(const std::string& reason) {
  escalations_.Add({{"reason", reason}}).Increment();
}

void Metrics::CountApproval(const std::string& result) { approvals_.Add({{"result", result}}).Increment(); }

void Metrics::CountRollback(const std::string& decided_by, const std::string& result) {
  rollbacks_.Add({{"decided_by", decided_by}, {"result", result}}).Increment();
}

void Metrics::CountActionAttempt(const std::string& executor, const std::string& result) {
  action_attempts_.Add({{"executor", executor}, {"result", result}}).Increment();
}

void Metrics::CountNotification(const std::string& notifier, const std::string& event, const std::string& result) {
  notifications_.Add({{"notifier", notifier}, {"event", event}, {"result", result}}).Increment();
}

void Metrics::CountConflict(const std::string& kind) { conflicts_.Add({{"kind", kind}}).Increment(); }

void Metrics::CountIntegrationRequest(const std::string& integration, const std::string& result) {
  integration_requests_.Add({{"integration", integration}, {"result", result}}).Increment();
}

void Metrics::CountGateHandout(const std::string& integration) {
  gate_handouts_.Add({{"integration", integration}}).Increment();
}

}  // namespace backstop::metrics
