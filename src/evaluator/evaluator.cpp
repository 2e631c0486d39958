#include "backstop/evaluator/evaluator.hpp"

#include <spdlog/spdlog.h>

#include "backstop/config/executor_match.hpp"
#include "backstop/decision/next_change.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/db_probe.hpp"
#include "backstop/store/mode_repository.hpp"
#include "backstop/store/row_helpers.hpp"
#include "backstop/workflow/decision_commit.hpp"
#include "backstop/workflow/escalations.hpp"
#include "backstop/workflow/gate_flow.hpp"
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
// A quiet release (nothing it reads changed, nothing time-driven due) is
// still evaluated in full at least this often: a safety net under
// decision::NextChangeAt, not something correctness relies on.
constexpr Millis kMaxQuiet{10000};

// When a release's latest evaluation stops standing: its next time-driven
// change, the store dropping one of its canary samples (once the newest is
// dropped, stale turns insufficient; any sample is taken, to be safe), or
// kMaxQuiet from now.
TimePoint QuietUntil(const decision::ReleaseFacts& facts, const policy::ThresholdSet& set,
                     const decision::TelemetrySnapshot& telemetry, const decision::Decision& decided, TimePoint now,
                     Millis retention) {
  TimePoint until = std::min(decision::NextChangeAt(facts, set, telemetry, decided, now), now + kMaxQuiet);
  for (const auto& pair : telemetry.series) {
    for (const auto& s : pair.canary) {
      // Dropped by the first Prune after it is older than `retention`; one
      // already that old goes at the next tick's Prune.
      until = std::min(until, std::max(s.at + retention, now) + TimePoint::duration(1));
    }
  }
  return until;
}

Millis LeaseDuration(const config::Config& c) { return std::max(kMinLease, c.evaluation_tick * kLeaseTicks); }

}  // namespace

Evaluator::Evaluator(store::DbPool& pool, policy::PolicyRegistry& registry, telemetry::WindowStore& windows,
                     metrics::Metrics& metrics, const config::Config& config, DbClock& clock)
    : pool_(pool),
      registry_(registry),
      windows_(windows),
      metrics_(metrics),
      config_(config),
      clock_(clock),
      lease_(pool, config.instance_id, LeaseDuration(config)),
      verifier_(pool, registry, windows, metrics, lease_, clock, config_.notifiers),
      scheduler_(config.evaluation_tick, [this] { EvaluateDirty(); }, [this] { TickNow(); }) {}

Evaluator::~Evaluator() { Stop(); }

void Evaluator::Start() {
  SyncClock();
  // A restart with the same instance_id does not wait for its previous
  // life's lease to expire (DESIGN: a process reclaims at once what it held
  // under its own id); then the lease is taken or renewed at once, so a lone
  // process is active before it serves.
  lease_.TakeBackFromPreviousLife();
  lease_.Renew();
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

std::vector<pull::PullRelease> Evaluator::PullTargets() const {
  std::vector<pull::PullRelease> out = verifier_.Verifying();
  for (store::Release& r : tracker_.Releases()) {
    auto set = registry_.Find(r.release_class, r.thresholds_version);
    if (!set) continue;  // evaluation reloads the registry and logs it
    out.push_back({std::move(r.service), std::move(r.environment), std::move(r.version),
                   std::move(r.previous_version), std::move(set)});
  }
  return out;
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
  metrics_.SetDecisionsUncommitted(tracker_.Uncommitted().size());  // releases that left drop out
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
    std::vector<workflow::FailedGateAction> gate_timeouts;
  };
  const SteadyTime read_started = std::chrono::steady_clock::now();
  auto loaded = pool_.Run<Loaded>([this](pqxx::connection& conn) -> Result<Loaded> {
    {
      pqxx::work tx(conn);
      workflow::ExpireDueEscalations(tx, config_.notifiers);
      tx.commit();
    }
    // Gate actions nobody picked up in time fail here (each in its own
    // transaction) and open their rollback.failed escalations. A failing
    // sweep must not stop the reload: it is tried again next tick.
    std::vector<workflow::FailedGateAction> timeouts;
    try {
      timeouts = workflow::FailOverdueGateActions(conn, config_, registry_, config_.instance_id);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("evaluator: gate action timeout sweep failed: {}", e.what());
    }
    pqxx::read_transaction tx(conn);
    return Loaded{store::ReleaseRepository::ListEvaluable(tx), store::EscalationRepository::PendingReleaseIds(tx),
                  std::move(timeouts)};
  });
  if (!loaded.ok()) {
    spdlog::warn("evaluator: cannot reload releases: {}", loaded.error().message);
    return;
  }
  for (const auto& t : loaded->gate_timeouts) {
    metrics_.CountGateTimeout();
    metrics_.CountActionAttempt("gate", "failed");
    metrics_.CountRollback(t.decided_by, "failed");
    spdlog::warn("executor: gate action {} of release {} failed: {}", t.action_id, t.release_id, t.error);
  }
  metrics_.SetEscalationsPending(static_cast<std::int64_t>(loaded->pending.size()));
  tracker_.Sync(loaded->releases, loaded->pending, read_started);
}

void Evaluator::EvaluateOne(const std::string& release_id, SteadyTime trigger) {
  if (!lease_.held()) return;
  const Mode mode = mode_.load();
  const Millis retention = windows_.retention();
  // Most of a large fleet, most ticks: nothing the last evaluation read has
  // changed and nothing time-driven is due, so it stands as it is.
  if (tracker_.StillQuiet(release_id, clock_.Now(), mode, retention)) {
    metrics_.CountEvaluation();
    return;
  }
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
  const decision::ReleaseFacts facts = store::FactsOf(rel);
  decision::Decision pre =
      decision::Decide(facts, *set, telemetry, decision::DecisionContext{now, mode, 0}, tracked->history);
  metrics_.CountEvaluation();
  std::optional<ReleaseTracker::Quiet> quiet;
  if (pre.kind == decision::DecisionKind::kNone) {
    quiet = ReleaseTracker::Quiet{QuietUntil(facts, *set, telemetry, pre, now, retention), tracked->inputs_seq, mode,
                                  retention};
  }
  // Only pre.kind is read below; the evaluation and history move into the tracker.
  for (auto c : tracker_.RecordEvaluation(release_id, std::move(pre.evaluation), std::move(pre.history), quiet)) {
    metrics_.CountConflict(std::string(decision::ToString(c)));
  }
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
        const workflow::CommittedDecision c = workflow::CommitDecision(tx, fence, config_.notifiers, input);
        tx.commit();
        return c;
      });
  if (!committed.ok()) {
    RecordCommitFailure(rel, pre.kind, committed.error());
    return;
  }
  tracker_.ClearCommitFailures(release_id);
  metrics_.SetDecisionsUncommitted(tracker_.Uncommitted().size());
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

// A decision that cannot be committed (the database refuses its evidence, a
// constraint fails, PostgreSQL is away) leaves the release evaluating, and the
// next tick tries again. That retry must not be silent: every failure counts
// in backstop_decision_commit_failures_total, the release is listed by
// /readyz (UncommittedDecisions) until a commit goes through, and the log
// names it — at the first failure and then every kLogEveryFailures, so a
// release stuck for hours is visible without a line per tick.
void Evaluator::RecordCommitFailure(const store::Release& rel, decision::DecisionKind kind, const Error& error) {
  constexpr int kLogEveryFailures = 60;
  const int failures = tracker_.RecordCommitFailure(rel.id);
  metrics_.CountDecisionCommitFailure();
  metrics_.SetDecisionsUncommitted(tracker_.Uncommitted().size());
  if (failures <= 1 || failures % kLogEveryFailures == 0) {
    spdlog::error("evaluator: decision {} for release {} ({} {} in {}) not committed, {} failure(s) in a row: {}",
                  decision::ToString(kind), rel.id, rel.service, rel.version, rel.environment, failures,
                  error.message);
  }
}

std::vector<std::string> Evaluator::UncommittedDecisions() const { return tracker_.Uncommitted(); }

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
