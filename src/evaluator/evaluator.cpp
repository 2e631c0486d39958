#include "backstop/evaluator/evaluator.hpp"

#include <spdlog/spdlog.h>

#include "backstop/common/sha256.hpp"
#include "backstop/config/executor_match.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/db_probe.hpp"
#include "backstop/store/mode_repository.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/workflow/decision_commit.hpp"
#include "backstop/workflow/escalations.hpp"
#include "backstop/workflow/policy_sync.hpp"

namespace backstop::evaluator {

namespace {

// Samples are kept a little longer than the largest window so a window that
// ends "now" is always complete.
constexpr Millis kRetentionSlack = std::chrono::minutes(1);
// The evaluator lease outlives a few ticks, so one slow tick does not lose it.
constexpr Millis kMinLease = std::chrono::seconds(2);
constexpr int kLeaseTicks = 3;
// How many releases a tick evaluates between looks at fresh telemetry.
constexpr std::size_t kTickSlice = 100;

Millis LeaseDuration(const config::Config& c) { return std::max(kMinLease, c.evaluation_tick * kLeaseTicks); }

decision::ReleaseFacts FactsOf(const store::Release& r) {
  return decision::ReleaseFacts{r.id, r.service, r.environment, r.version, r.previous_version,
                                r.traffic_percent, r.shared_infrastructure, r.started_at};
}

}  // namespace

Evaluator::Evaluator(store::DbPool& pool, policy::PolicyRegistry& registry, telemetry::WindowStore& windows,
                     metrics::Metrics& metrics, const config::Config& config, DbClock& clock)
    : pool_(pool),
      registry_(registry),
      windows_(windows),
      metrics_(metrics),
      config_(config),
      clock_(clock),
      lease_(pool, config.instance_id + ":" + RandomHex(4), LeaseDuration(config)),
      verifier_(pool, registry, windows, metrics, lease_, clock),
      scheduler_(config.evaluation_tick, [this] { EvaluateDirty(); }, [this] { TickNow(); }) {}

Evaluator::~Evaluator() { Stop(); }

void Evaluator::Start() {
  SyncClock();
  lease_.Renew();  // at once, so a lone process is active before it serves
  scheduler_.Start();
}

void Evaluator::Stop() {
  scheduler_.Stop();
  lease_.Release();  // a standby takes over at its next tick
}

void Evaluator::NotifyTelemetry(const std::set<std::pair<std::string, std::string>>& touched, SteadyTime arrival) {
  if (tracker_.MarkTouched(touched, arrival)) scheduler_.Wake();
}

void Evaluator::NotifyRelease(const store::Release& release) { tracker_.Upsert(release); }

std::optional<decision::Evaluation> Evaluator::LatestEvaluation(const std::string& release_id) const {
  return tracker_.Latest(release_id);
}

void Evaluator::EvaluateDirty() {
  std::lock_guard work(work_mutex_);
  EvaluateDirtyLocked();
}

void Evaluator::EvaluateDirtyLocked() {
  for (const auto& [id, trigger] : tracker_.TakeDirty()) {
    // One release's failure must not stop the others.
    try {
      EvaluateOne(id, trigger);
    } catch (const std::exception& e) {
      spdlog::error("evaluator: evaluating {} failed: {}", id, e.what());
    }
  }
}

void Evaluator::TickNow() {
  std::lock_guard work(work_mutex_);
  Tick();
}

void Evaluator::Tick() {
  SyncClock();
  if (!lease_.Renew()) return;  // a standby keeps no evaluation state current
  auto mode = pool_.Run<Mode>([](pqxx::connection& conn) -> Result<Mode> {
    pqxx::read_transaction tx(conn);
    return store::ModeRepository::Get(tx).mode;
  });
  if (mode.ok()) mode_.store(*mode);
  Reload();
  windows_.SetRetention(registry_.MaxRetention() + kRetentionSlack);
  windows_.Prune(clock_.Now());
  metrics_.SetSeriesActive(windows_.series_count());
  std::size_t evaluated = 0;
  for (const auto& [id, trigger] : tracker_.All()) {
    // Releases with fresh telemetry go first, every slice of the tick: over
    // a large fleet a tick takes a while, and a breaching batch arriving
    // meanwhile must not wait for all of it.
    if (++evaluated % kTickSlice == 0) EvaluateDirtyLocked();
    try {
      EvaluateOne(id, trigger);
    } catch (const std::exception& e) {
      spdlog::error("evaluator: evaluating {} failed: {}", id, e.what());
    }
  }
  verifier_.RunOnce();
}

void Evaluator::Reload() {
  struct Loaded {
    std::vector<store::Release> releases;
    std::set<std::string> pending;
  };
  const SteadyTime read_started = std::chrono::steady_clock::now();
  auto loaded = pool_.Run<Loaded>([](pqxx::connection& conn) -> Result<Loaded> {
    {
      pqxx::work tx(conn);
      workflow::ExpireDueEscalations(tx);
      tx.commit();
    }
    pqxx::read_transaction tx(conn);
    return Loaded{store::ReleaseRepository::ListEvaluable(tx), store::EscalationRepository::PendingReleaseIds(tx)};
  });
  if (!loaded.ok()) {
    spdlog::warn("evaluator: cannot reload releases: {}", loaded.error().message);
    return;
  }
  metrics_.SetEscalationsPending(static_cast<std::int64_t>(loaded->pending.size()));
  tracker_.Sync(loaded->releases, loaded->pending, read_started);
}

void Evaluator::EvaluateOne(const std::string& release_id, SteadyTime trigger) {
  if (!lease_.held()) return;
  auto tracked = tracker_.Checkout(release_id);
  if (!tracked) return;
  const store::Release& rel = tracked->release;
  auto set = registry_.Find(rel.release_class, rel.thresholds_version);
  if (!set) {
    // Another process may have loaded a newer version this one has not seen.
    (void)pool_.Run<bool>([this](pqxx::connection& conn) -> Result<bool> {
      workflow::RefreshRegistry(conn, registry_, metrics_);
      return true;
    });
    set = registry_.Find(rel.release_class, rel.thresholds_version);
  }
  if (!set) {
    spdlog::error("evaluator: release {} pins {} v{}, which is not loaded", rel.id, rel.release_class,
                  rel.thresholds_version);
    return;
  }
  decision::TelemetrySnapshot telemetry;
  for (const auto& signal : set->signals) {
    for (auto& p : windows_.Snapshot(rel.service, rel.environment, signal.name, rel.version, rel.previous_version)) {
      telemetry.series.push_back(std::move(p));
    }
  }
  const TimePoint now = clock_.Now();
  const decision::Decision pre =
      decision::Decide(FactsOf(rel), *set, telemetry, decision::DecisionContext{now, mode_.load(), 0}, tracked->history);
  metrics_.CountEvaluation();
  for (auto c : tracker_.RecordEvaluation(release_id, pre)) metrics_.CountConflict(std::string(decision::ToString(c)));
  // While a human holds the question, evaluation goes on but decides nothing.
  if (pre.kind == decision::DecisionKind::kNone || tracked->pending_escalation) return;
  if (tracked->settled && tracked->settled->first == rel.episode && tracked->settled->second == pre.kind) {
    return;  // the database already holds this decision for this episode
  }

  const workflow::LeaseFence fence = lease_.fence();
  const workflow::DecisionInput input{rel.id, *set, telemetry, tracked->history, now,
                                      config::ExecutorName(config_, rel.service)};
  auto committed = pool_.Run<workflow::CommittedDecision>(
      [&](pqxx::connection& conn) -> Result<workflow::CommittedDecision> {
        pqxx::work tx(conn);
        const workflow::CommittedDecision c = workflow::CommitDecision(tx, fence, input);
        tx.commit();
        return c;
      });
  if (!committed.ok()) {
    spdlog::warn("evaluator: decision for {} not committed: {}", rel.id, committed.error().message);
    return;
  }
  if (committed->already_decided) {
    tracker_.MarkSettled(release_id, rel.episode, pre.kind);
    return;
  }
  if (committed->kind == decision::DecisionKind::kNone) return;
  if (committed->kind == decision::DecisionKind::kAutoRollback && on_action_queued_) on_action_queued_();
  const std::string kind(decision::ToString(committed->kind));
  metrics_.CountDecision(kind);
  if (committed->kind == decision::DecisionKind::kEscalate) {
    for (auto r : committed->reasons) metrics_.CountEscalation(std::string(decision::ToString(r)));
  }
  if (committed->kind != decision::DecisionKind::kHealthy) {
    metrics_.ObserveDecisionLatency(std::chrono::duration<double>(std::chrono::steady_clock::now() - trigger).count());
  }
  spdlog::info("evaluator: release {} decided {} ({})", rel.id, kind, store::ReasonsToJson(committed->reasons));
  tracker_.ApplyCommitted(release_id, rel.episode, *committed);
}

void Evaluator::SyncClock() {
  struct Reading {
    TimePoint before, db_now, after;
  };
  // The local readings bracket the query alone, on the pool thread: taken
  // around pool_.Run they would include the queue wait and thread hand-offs,
  // and a midpoint skewed by milliseconds can put "now" before samples just
  // received (which then do not count yet).
  auto reading = pool_.Run<Reading>([](pqxx::connection& conn) -> Result<Reading> {
    pqxx::nontransaction tx(conn);
    Reading r;
    r.before = NowMicros();
    r.db_now = TimePoint(std::chrono::microseconds(store::DatabaseNowMicros(tx)));
    r.after = NowMicros();
    return r;
  });
  if (reading.ok()) clock_.Observe(reading->db_now, reading->before, reading->after);
}

}  // namespace backstop::evaluator
