#include "backstop/evaluator/evaluator.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "backstop/api/json_codec.hpp"
#include "backstop/app/threshold_loading.hpp"
#include "backstop/audit/audit_repository.hpp"
#include "backstop/common/sha256.hpp"
#include "backstop/config/executor_match.hpp"
#include "backstop/decision/summary.hpp"
#include "backstop/decision/verification.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/mode_repository.hpp"

namespace backstop::evaluator {

namespace {

// A burst of telemetry batches within this gives one evaluation per release.
constexpr auto kDebounce = std::chrono::milliseconds(2);
// Samples are kept a little longer than the largest window so a window that
// ends "now" is always complete.
constexpr Millis kRetentionSlack{60000};
constexpr std::size_t kMaxFinishedKept = 10000;
// The evaluator lease outlives a few ticks, so one slow tick does not lose it.
constexpr Millis kMinLease{2000};
constexpr int kLeaseTicks = 3;

decision::ReleaseFacts FactsOf(const store::Release& r) {
  return decision::ReleaseFacts{r.id, r.service, r.environment, r.version, r.previous_version,
                                r.traffic_percent, r.shared_infrastructure, r.started_at};
}

bool IsEvaluable(const std::string& status) {
  return status == store::kStatusEvaluating || status == store::kStatusEscalated;
}

std::string ReasonsJson(const std::vector<decision::ReasonCode>& reasons) {
  boost::json::array a;
  for (auto r : reasons) a.emplace_back(decision::ToString(r));
  return boost::json::serialize(a);
}

// True while `owner` holds the evaluator lease at `epoch`; the share lock
// keeps a takeover from committing until this transaction ends.
bool LeaseHeld(pqxx::work& tx, const std::string& owner, std::int64_t epoch) {
  return !tx.exec_params("SELECT 1 FROM evaluator_lease WHERE owner = $1 AND epoch = $2 AND expires_at > now() "
                         "FOR SHARE",
                         owner, epoch)
              .empty();
}

// What a committed decision changed, for the in-memory state and metrics.
struct Committed {
  decision::DecisionKind kind = decision::DecisionKind::kNone;
  std::string status;
  std::vector<decision::ReasonCode> reasons;
  bool already_decided = false;  // this episode already holds this decision
};

}  // namespace

Evaluator::Evaluator(store::DbPool& pool, policy::PolicyRegistry& registry, telemetry::WindowStore& windows,
                     metrics::Metrics& metrics, const config::Config& config, DbClock& clock)
    : pool_(pool),
      registry_(registry),
      windows_(windows),
      metrics_(metrics),
      config_(config),
      clock_(clock),
      lease_owner_(config.instance_id + ":" + RandomHex(4)) {}

Evaluator::~Evaluator() { Stop(); }

void Evaluator::Start() {
  SyncClock();
  RenewLease();  // at once, so a lone process is active before it serves
  thread_ = std::thread([this] { Loop(); });
}

bool Evaluator::RenewLease() {
  const Millis lease = std::max(kMinLease, config_.evaluation_tick * kLeaseTicks);
  auto epoch = pool_.Run<std::optional<std::int64_t>>(
      [this, lease](pqxx::connection& conn) -> Result<std::optional<std::int64_t>> {
        pqxx::work tx(conn);
        // Renew our own lease, or take one that expired (a new epoch).
        const pqxx::result r = tx.exec_params(
            "UPDATE evaluator_lease SET epoch = CASE WHEN owner = $1 THEN epoch ELSE epoch + 1 END, "
            "owner = $1, expires_at = now() + $2 * interval '1 millisecond' "
            "WHERE owner = $1 OR expires_at < now() RETURNING epoch",
            lease_owner_, static_cast<std::int64_t>(lease.count()));
        tx.commit();
        if (r.empty()) return std::optional<std::int64_t>{};
        return std::optional<std::int64_t>(r[0][0].as<std::int64_t>());
      });
  const bool was_active = holds_lease_.load();
  // Unreachable database: we cannot know, so we stop acting (decisions
  // check the lease at commit anyway).
  const bool now_active = epoch.ok() && epoch->has_value();
  if (now_active) epoch_.store(**epoch);
  holds_lease_.store(now_active);
  if (now_active != was_active) {
    spdlog::info("evaluator: {} the evaluator lease ({})", now_active ? "holds" : "does not hold", lease_owner_);
  }
  return now_active;
}

void Evaluator::ReleaseLease() {
  if (!holds_lease_.exchange(false)) return;
  (void)pool_.Run<bool>([this](pqxx::connection& conn) -> Result<bool> {
    pqxx::work tx(conn);
    tx.exec_params("UPDATE evaluator_lease SET expires_at = now() WHERE owner = $1", lease_owner_);
    tx.commit();
    return true;
  });
}

void Evaluator::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    ReleaseLease();  // a standby takes over at its next tick
  }
}

void Evaluator::NotifyTelemetry(const std::set<std::pair<std::string, std::string>>& touched,
                                SteadyTime arrival) {
  bool any = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& key : touched) {
      auto it = by_service_env_.find(key);
      if (it == by_service_env_.end()) continue;
      for (const auto& id : it->second) {
        auto& a = active_.at(id);
        if (!a.first_arrival) a.first_arrival = arrival;
        dirty_.insert(id);
        any = true;
      }
    }
  }
  if (any) cv_.notify_all();
}

void Evaluator::NotifyRelease(const store::Release& release) {
  std::lock_guard lock(mutex_);
  const auto key = std::make_pair(release.service, release.environment);
  // The database superseded the others of this service and environment.
  auto& ids = by_service_env_[key];
  for (const auto& old : std::vector<std::string>(ids.begin(), ids.end())) {
    if (old != release.id) {
      active_.erase(old);
      ids.erase(old);
    }
  }
  if (!IsEvaluable(release.status)) return;
  auto it = active_.find(release.id);
  if (it == active_.end()) {
    Active a;
    a.release = release;
    a.notified_at = std::chrono::steady_clock::now();
    active_[release.id] = std::move(a);
    ids.insert(release.id);
  } else {
    it->second.release = release;  // e.g. a traffic change
    it->second.notified_at = std::chrono::steady_clock::now();
  }
}

std::optional<decision::Evaluation> Evaluator::LatestEvaluation(const std::string& release_id) const {
  std::lock_guard lock(mutex_);
  if (auto it = active_.find(release_id); it != active_.end()) return it->second.latest;
  if (auto it = finished_.find(release_id); it != finished_.end()) return it->second;
  return std::nullopt;
}

void Evaluator::Forget(const std::string& release_id) {
  // Caller holds mutex_.
  auto it = active_.find(release_id);
  if (it == active_.end()) return;
  if (it->second.latest) {
    if (finished_.size() >= kMaxFinishedKept) finished_.erase(finished_.begin());
    finished_[release_id] = *it->second.latest;
  }
  by_service_env_[{it->second.release.service, it->second.release.environment}].erase(release_id);
  active_.erase(it);
}

void Evaluator::Reload() {
  struct Loaded {
    std::vector<store::Release> releases;
    std::set<std::string> pending;
    std::size_t expired = 0;
    std::int64_t pending_count = 0;
  };
  const SteadyTime read_started = std::chrono::steady_clock::now();
  auto loaded = pool_.Run<Loaded>([](pqxx::connection& conn) -> Result<Loaded> {
    Loaded out;
    {
      pqxx::work tx(conn);
      out.expired = store::EscalationRepository::ExpireDue(tx).size();
      tx.commit();
    }
    pqxx::read_transaction tx(conn);
    out.releases = store::ReleaseRepository::ListEvaluable(tx);
    for (const auto& r : tx.exec("SELECT release_id FROM escalations WHERE state = 'pending'")) {
      out.pending.insert(r[0].as<std::string>());
    }
    out.pending_count = static_cast<std::int64_t>(out.pending.size());
    return out;
  });
  if (!loaded.ok()) {
    spdlog::warn("evaluator: cannot reload releases: {}", loaded.error().message);
    return;
  }
  metrics_.SetEscalationsPending(loaded->pending_count);
  std::lock_guard lock(mutex_);
  std::set<std::string> seen;
  for (auto& r : loaded->releases) {
    seen.insert(r.id);
    auto it = active_.find(r.id);
    if (it == active_.end()) {
      by_service_env_[{r.service, r.environment}].insert(r.id);
      Active a;
      a.release = r;
      a.pending_escalation = loaded->pending.count(r.id) > 0;
      active_[r.id] = std::move(a);
    } else {
      it->second.release = r;  // status, episode and traffic may have changed elsewhere
      it->second.pending_escalation = loaded->pending.count(r.id) > 0;
    }
  }
  std::vector<std::string> gone;
  for (const auto& [id, a] : active_) {
    // A release registered while the database was being read is not in it yet.
    if (seen.count(id) == 0 && a.notified_at < read_started) gone.push_back(id);
  }
  for (const auto& id : gone) Forget(id);
}

void Evaluator::EvaluateOne(const std::string& release_id, SteadyTime trigger) {
  if (!holds_lease_.load()) return;
  Active snapshot_of;
  {
    std::lock_guard lock(mutex_);
    auto it = active_.find(release_id);
    if (it == active_.end()) return;
    snapshot_of = it->second;
    it->second.first_arrival.reset();
  }
  const store::Release& rel = snapshot_of.release;
  auto set = registry_.Find(rel.release_class, rel.thresholds_version);
  if (!set) {
    // Another process may have loaded a newer version this one has not seen.
    (void)pool_.Run<bool>([this](pqxx::connection& conn) -> Result<bool> {
      app::RefreshRegistry(conn, registry_, metrics_);
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
    auto pairs = windows_.Snapshot(rel.service, rel.environment, signal.name, rel.version, rel.previous_version);
    for (auto& p : pairs) telemetry.series.push_back(std::move(p));
  }
  const decision::ReleaseFacts facts = FactsOf(rel);
  decision::DecisionContext ctx{clock_.Now(), mode_.load(), 0};
  const decision::EvaluationHistory previous = snapshot_of.history;
  decision::Decision pre = decision::Decide(facts, *set, telemetry, ctx, previous);
  metrics_.CountEvaluation();
  {
    std::lock_guard lock(mutex_);
    auto it = active_.find(release_id);
    if (it == active_.end()) return;
    const auto& before = it->second.latest;
    for (auto c : pre.evaluation.conflicts) {
      const bool new_conflict = !before || std::find(before->conflicts.begin(), before->conflicts.end(), c) ==
                                               before->conflicts.end();
      if (new_conflict) metrics_.CountConflict(std::string(decision::ToString(c)));
    }
    it->second.history = pre.history;
    it->second.latest = pre.evaluation;
  }
  // While a human holds the question, evaluation goes on but decides nothing.
  if (pre.kind == decision::DecisionKind::kNone || snapshot_of.pending_escalation) return;
  if (snapshot_of.settled && snapshot_of.settled->first == rel.episode && snapshot_of.settled->second == pre.kind) {
    return;  // the database already holds this decision for this episode
  }

  const std::string executor = config::ExecutorName(config_, rel.service);
  const std::int64_t epoch = epoch_.load();
  auto committed = pool_.Run<Committed>([&](pqxx::connection& conn) -> Result<Committed> {
    pqxx::work tx(conn);
    // Fenced by the evaluator lease: a process that lost it decides nothing.
    if (!LeaseHeld(tx, lease_owner_, epoch)) return Committed{};
    auto locked = store::ReleaseRepository::Lock(tx, rel.id);
    if (!locked || !IsEvaluable(locked->status) || store::EscalationRepository::HasPending(tx, rel.id)) {
      return Committed{};
    }
    // FOR SHARE: a concurrent switch to freeze waits for this decision or
    // this decision sees the freeze; never a rollback after freeze answered.
    const Mode mode = store::ModeRepository::GetForShare(tx).mode;
    // Two releases of a class deciding at once must not both take the last unit of budget.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended('budget:' || $1 || '/' || $2, 0))",
                   locked->release_class, locked->environment);
    const int used = store::ActionRepository::CountAutoInWindow(tx, locked->release_class, locked->environment,
                                                                set->budget_per);
    decision::DecisionContext real_ctx{ctx.now, mode, used};
    decision::Decision d = decision::Decide(FactsOf(*locked), *set, telemetry, real_ctx, previous);
    if (d.kind == decision::DecisionKind::kNone) return Committed{};
    const std::string kind(decision::ToString(d.kind));
    const std::string reasons = ReasonsJson(d.reasons);
    const std::string evidence = boost::json::serialize(api::EvaluationToJson(d.evaluation));
    auto decision_id = store::DecisionRepository::Insert(tx, rel.id, locked->episode, kind, reasons, evidence,
                                                         locked->thresholds_version, std::string(ModeName(mode)));
    if (!decision_id) {
      Committed settled;  // already decided in this episode
      settled.already_decided = true;
      return settled;
    }

    Committed out{d.kind, locked->status, d.reasons};
    boost::json::object payload{{"decision_id", *decision_id},
                                {"decision", kind},
                                {"reasons", boost::json::parse(reasons)},
                                {"thresholds_version", locked->thresholds_version},
                                {"mode", ModeName(mode)},
                                {"episode", locked->episode}};
    const auto set_status = [&](const char* status) {
      tx.exec_params0("UPDATE releases SET status = $2, updated_at = now() WHERE id = $1", rel.id,
                      std::string(status));
      out.status = status;
    };
    switch (d.kind) {
      case decision::DecisionKind::kAutoRollback: {
        store::NewAction a = store::RollbackAction(*locked, "auto", reasons, executor);
        a.decision_id = decision_id;
        const store::ActionRow action = store::ActionRepository::Queue(tx, a);
        payload["action_id"] = action.id;
        set_status(store::kStatusRollingBack);
        break;
      }
      case decision::DecisionKind::kEscalate: {
        store::NewEscalation e;
        e.release_id = rel.id;
        e.decision_id = decision_id;
        e.service = locked->service;
        e.environment = locked->environment;
        e.release_class = locked->release_class;
        // Without a previous version there is nothing to roll back to: a
        // human is asked to contain instead.
        const bool rollback = d.proposed == decision::ProposedActionType::kRollback && locked->previous_version;
        e.proposed_type = rollback ? "rollback" : "contain";
        e.from_version = locked->version;
        if (rollback) e.to_version = locked->previous_version;
        e.reasons = reasons;
        e.evidence = evidence;
        e.summary = decision::SummarizeEscalation(FactsOf(*locked), d);
        e.required_approvals = set->RequiredApprovals();
        e.ttl = set->approval_ttl;
        const store::EscalationRow esc = store::EscalationRepository::Open(tx, e);
        payload["escalation_id"] = esc.id;
        set_status(store::kStatusEscalated);
        break;
      }
      case decision::DecisionKind::kHealthy:
        set_status(store::kStatusHealthy);
        break;
      default:
        break;  // dry_run: recorded, nothing executes
    }
    audit::AuditRepository::Append(
        tx, audit::AuditEvent{"system", "decision." + kind, rel.id, boost::json::serialize(payload)});
    tx.commit();
    return out;
  });
  if (!committed.ok()) {
    spdlog::warn("evaluator: decision for {} not committed: {}", rel.id, committed.error().message);
    return;
  }
  if (committed->already_decided) {
    std::lock_guard lock(mutex_);
    if (auto it = active_.find(release_id); it != active_.end()) it->second.settled = {rel.episode, pre.kind};
    return;
  }
  if (committed->kind == decision::DecisionKind::kNone) return;
  const std::string kind(decision::ToString(committed->kind));
  metrics_.CountDecision(kind);
  if (committed->kind == decision::DecisionKind::kEscalate) {
    for (auto r : committed->reasons) metrics_.CountEscalation(std::string(decision::ToString(r)));
  }
  if (committed->kind != decision::DecisionKind::kHealthy) {
    metrics_.ObserveDecisionLatency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - trigger).count());
  }
  spdlog::info("evaluator: release {} decided {} ({})", rel.id, kind, ReasonsJson(committed->reasons));
  std::lock_guard lock(mutex_);
  auto it = active_.find(release_id);
  if (it == active_.end()) return;
  it->second.release.status = committed->status;
  if (committed->kind == decision::DecisionKind::kEscalate) it->second.pending_escalation = true;
  if (committed->kind == decision::DecisionKind::kWouldRollback ||
      committed->kind == decision::DecisionKind::kWouldEscalate) {
    it->second.settled = {rel.episode, committed->kind};
  }
  if (!IsEvaluable(committed->status)) Forget(release_id);
}

void Evaluator::SyncClock() {
  const TimePoint before = NowMicros();
  auto db_now = pool_.Run<std::int64_t>([](pqxx::connection& conn) -> Result<std::int64_t> {
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint")[0].as<std::int64_t>();
  });
  const TimePoint after = NowMicros();
  if (db_now.ok()) clock_.Observe(TimePoint(std::chrono::microseconds(*db_now)), before, after);
}

void Evaluator::TickNow() {
  SyncClock();
  if (!RenewLease()) return;  // a standby keeps no evaluation state current
  auto mode = pool_.Run<Mode>([](pqxx::connection& conn) -> Result<Mode> {
    pqxx::read_transaction tx(conn);
    return store::ModeRepository::Get(tx).mode;
  });
  if (mode.ok()) mode_.store(*mode);
  Reload();
  windows_.SetRetention(registry_.MaxRetention() + kRetentionSlack);
  windows_.Prune(clock_.Now());
  metrics_.SetSeriesActive(windows_.series_count());
  std::vector<std::pair<std::string, SteadyTime>> ids;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [id, a] : active_) ids.emplace_back(id, a.first_arrival.value_or(now));
  }
  for (const auto& [id, trigger] : ids) EvaluateGuarded(id, trigger);
  VerifyRollbacks();
}

void Evaluator::VerifyRollbacks() {
  auto rolled_back = pool_.Run<std::vector<store::Release>>(
      [this](pqxx::connection& conn) -> Result<std::vector<store::Release>> {
        pqxx::read_transaction tx(conn);
        return store::ReleaseRepository::ListRolledBackWithin(tx, registry_.MaxRetention());
      });
  if (!rolled_back.ok()) return;
  std::set<std::string> seen;
  for (const auto& rel : *rolled_back) {
    const auto set = registry_.Find(rel.release_class, rel.thresholds_version);
    if (!set || !rel.previous_version) continue;
    const TimePoint now = clock_.Now();
    if (now - rel.updated_at > set->evaluation.window) continue;  // verified for a whole window
    seen.insert(rel.id);
    // The restored version is evaluated on its own: it is its own baseline.
    decision::ReleaseFacts restored = FactsOf(rel);
    restored.version = *rel.previous_version;
    restored.previous_version.reset();
    decision::TelemetrySnapshot telemetry;
    for (const auto& signal : set->signals) {
      for (auto& p : windows_.Snapshot(rel.service, rel.environment, signal.name, restored.version, std::nullopt)) {
        telemetry.series.push_back(std::move(p));
      }
    }
    std::optional<TimePoint> since;
    if (auto it = verify_breach_since_.find(rel.id); it != verify_breach_since_.end()) since = it->second;
    const auto result = decision::VerifyRollback(restored, *set, telemetry, now, since);
    if (result.breach_since) {
      verify_breach_since_[rel.id] = *result.breach_since;
    } else {
      verify_breach_since_.erase(rel.id);
    }
    if (!result.ineffective) continue;
    decision::Evaluation evaluation;
    evaluation.signals = result.signals;
    evaluation.verdict = decision::Verdict::kBreach;
    evaluation.evaluated_at = now;
    const std::string evidence = boost::json::serialize(api::EvaluationToJson(evaluation));
    const std::int64_t epoch = epoch_.load();
    auto opened = pool_.Run<bool>([&](pqxx::connection& conn) -> Result<bool> {
      pqxx::work tx(conn);
      if (!LeaseHeld(tx, lease_owner_, epoch)) return false;  // fenced like every decision
      auto locked = store::ReleaseRepository::Lock(tx, rel.id);
      if (!locked || locked->status != store::kStatusRolledBack) return false;
      const bool asked = !tx.exec_params("SELECT 1 FROM escalations WHERE release_id = $1 "
                                         "AND reasons::text LIKE '%rollback.ineffective%'",
                                         rel.id)
                              .empty();
      if (asked) return false;  // once per release
      store::NewEscalation e;
      e.release_id = rel.id;
      e.service = rel.service;
      e.environment = rel.environment;
      e.release_class = rel.release_class;
      e.proposed_type = "contain";  // nothing left to roll back to: a human investigates
      e.from_version = rel.version;
      e.reasons = R"(["rollback.ineffective"])";
      e.evidence = evidence;
      e.summary = rel.service + " " + *rel.previous_version + " in " + rel.environment +
                  ": still degraded after the rollback from " + rel.version + " — the cause is elsewhere";
      e.required_approvals = set->RequiredApprovals();
      e.ttl = set->approval_ttl;
      store::EscalationRepository::Open(tx, e);
      tx.commit();
      return true;
    });
    if (opened.ok() && *opened) {
      metrics_.CountEscalation("rollback.ineffective");
      spdlog::warn("evaluator: rollback of {} looks ineffective; escalated", rel.id);
    }
  }
  for (auto it = verify_breach_since_.begin(); it != verify_breach_since_.end();) {
    it = seen.count(it->first) ? std::next(it) : verify_breach_since_.erase(it);
  }
}

void Evaluator::EvaluateGuarded(const std::string& release_id, SteadyTime trigger) {
  // One release's failure must not stop the others, nor the thread.
  try {
    EvaluateOne(release_id, trigger);
  } catch (const std::exception& e) {
    spdlog::error("evaluator: evaluating {} failed: {}", release_id, e.what());
  }
}

void Evaluator::Loop() {
  auto next_tick = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_until(lock, next_tick, [this] { return stopping_ || !dirty_.empty(); });
    if (stopping_) break;
    if (!dirty_.empty()) {
      lock.unlock();
      std::this_thread::sleep_for(kDebounce);
      lock.lock();
      std::vector<std::pair<std::string, SteadyTime>> work;
      for (const auto& id : dirty_) {
        auto it = active_.find(id);
        if (it != active_.end()) {
          work.emplace_back(id, it->second.first_arrival.value_or(std::chrono::steady_clock::now()));
        }
      }
      dirty_.clear();
      lock.unlock();
      for (const auto& [id, trigger] : work) EvaluateGuarded(id, trigger);
      lock.lock();
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      lock.unlock();
      try {
        TickNow();
      } catch (const std::exception& e) {
        spdlog::error("evaluator: tick failed: {}", e.what());
      }
      lock.lock();
      next_tick = std::chrono::steady_clock::now() + config_.evaluation_tick;
    }
  }
}

}  // namespace backstop::evaluator
