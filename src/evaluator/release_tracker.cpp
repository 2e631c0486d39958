#include "backstop/evaluator/release_tracker.hpp"

#include <algorithm>
#include <utility>

namespace backstop::evaluator {

namespace {

constexpr std::size_t kMaxFinishedKept = 10000;

// What of a release row an evaluation reads (ReleaseFacts, the pinned
// threshold set) or its outcome depends on (status, episode).
bool SameForEvaluation(const store::Release& a, const store::Release& b) {
  return a.version == b.version && a.previous_version == b.previous_version && a.traffic_percent == b.traffic_percent &&
         a.shared_infrastructure == b.shared_infrastructure && a.started_at == b.started_at &&
         a.release_class == b.release_class && a.thresholds_version == b.thresholds_version && a.status == b.status &&
         a.episode == b.episode && a.service == b.service && a.environment == b.environment;
}

}  // namespace

bool ReleaseTracker::MarkTouched(const std::set<std::pair<std::string, std::string>>& touched, SteadyTime arrival) {
  bool any = false;
  std::lock_guard lock(mutex_);
  for (const auto& key : touched) {
    auto it = by_service_env_.find(key);
    if (it == by_service_env_.end()) continue;
    for (const auto& id : it->second) {
      auto& t = active_.at(id);
      if (!t.first_arrival) t.first_arrival = arrival;
      ++t.inputs_seq;
      dirty_.insert(id);
      any = true;
    }
  }
  return any;
}

void ReleaseTracker::Upsert(const store::Release& release) {
  std::lock_guard lock(mutex_);
  auto& ids = by_service_env_[{release.service, release.environment}];
  // The database superseded the others of this service and environment.
  for (const auto& old : std::vector<std::string>(ids.begin(), ids.end())) {
    if (old != release.id) {
      active_.erase(old);
      ids.erase(old);
    }
  }
  if (!domain::IsEvaluable(release.status)) return;
  const auto now = std::chrono::steady_clock::now();
  auto it = active_.find(release.id);
  if (it == active_.end()) {
    Tracked t;
    t.release = release;
    t.notified_at = now;
    active_[release.id] = std::move(t);
    ids.insert(release.id);
  } else {
    it->second.release = release;  // e.g. a traffic change
    it->second.notified_at = now;
    ++it->second.inputs_seq;
  }
}

void ReleaseTracker::Sync(const std::vector<store::Release>& evaluable, const std::set<std::string>& pending,
                          SteadyTime read_started) {
  std::lock_guard lock(mutex_);
  std::set<std::string> seen;
  for (const auto& r : evaluable) {
    seen.insert(r.id);
    auto it = active_.find(r.id);
    if (it == active_.end()) {
      by_service_env_[{r.service, r.environment}].insert(r.id);
      Tracked t;
      t.release = r;
      t.pending_escalation = pending.count(r.id) > 0;
      active_[r.id] = std::move(t);
    } else {
      Tracked& t = it->second;
      const bool is_pending = pending.count(r.id) > 0;
      if (!SameForEvaluation(t.release, r) || t.pending_escalation != is_pending) ++t.inputs_seq;
      t.release = r;  // status, episode and traffic may have changed elsewhere
      t.pending_escalation = is_pending;
    }
  }
  std::vector<std::string> gone;
  for (const auto& [id, t] : active_) {
    // A release registered while the database was being read is not in it yet.
    if (seen.count(id) == 0 && t.notified_at < read_started) gone.push_back(id);
  }
  for (const auto& id : gone) ForgetLocked(id);
}

std::optional<decision::Evaluation> ReleaseTracker::Latest(const std::string& id) const {
  std::lock_guard lock(mutex_);
  if (auto it = active_.find(id); it != active_.end()) return it->second.latest;
  if (auto it = finished_.find(id); it != finished_.end()) return it->second;
  return std::nullopt;
}

std::optional<ReleaseTracker::Tracked> ReleaseTracker::Checkout(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it == active_.end()) return std::nullopt;
  // `latest` steps aside while the rest is copied, so the copy goes without it.
  std::optional<decision::Evaluation> latest = std::exchange(it->second.latest, std::nullopt);
  Tracked copy = it->second;
  it->second.latest = std::move(latest);
  it->second.first_arrival.reset();
  return copy;
}

std::vector<decision::ReasonCode> ReleaseTracker::RecordEvaluation(const std::string& id,
                                                                   decision::Evaluation&& evaluation,
                                                                   decision::EvaluationHistory&& history,
                                                                   std::optional<Quiet> quiet) {
  std::vector<decision::ReasonCode> fresh;
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it == active_.end()) return fresh;
  const auto& before = it->second.latest;
  for (auto c : evaluation.conflicts) {
    if (!before || std::find(before->conflicts.begin(), before->conflicts.end(), c) == before->conflicts.end()) {
      fresh.push_back(c);
    }
  }
  it->second.history = std::move(history);
  it->second.latest = std::move(evaluation);
  it->second.quiet = quiet;
  return fresh;
}

bool ReleaseTracker::StillQuiet(const std::string& id, TimePoint now, Mode mode, Millis retention) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it == active_.end()) return false;
  Tracked& t = it->second;
  if (!t.quiet || !t.latest || t.quiet->inputs_seq != t.inputs_seq || t.quiet->mode != mode ||
      t.quiet->retention != retention || now >= t.quiet->until) {
    return false;
  }
  t.latest->evaluated_at = now;
  return true;
}

void ReleaseTracker::MarkSettled(const std::string& id, int episode, decision::DecisionKind kind) {
  std::lock_guard lock(mutex_);
  if (auto it = active_.find(id); it != active_.end()) {
    it->second.settled = {episode, kind};
    ++it->second.inputs_seq;
  }
}

void ReleaseTracker::ApplyCommitted(const std::string& id, int episode, const workflow::CommittedDecision& c) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  it->second.release.status = c.status;
  ++it->second.inputs_seq;
  if (c.kind == decision::DecisionKind::kEscalate) it->second.pending_escalation = true;
  if (decision::IsDryRun(c.kind)) it->second.settled = {episode, c.kind};
  if (!domain::IsEvaluable(c.status)) ForgetLocked(id);
}

int ReleaseTracker::RecordCommitFailure(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it == active_.end()) return 0;
  return ++it->second.commit_failures;
}

void ReleaseTracker::ClearCommitFailures(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto it = active_.find(id); it != active_.end()) it->second.commit_failures = 0;
}

std::vector<std::string> ReleaseTracker::Uncommitted() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, t] : active_) {
    if (t.commit_failures > 0) out.push_back(id);
  }
  return out;
}

std::vector<std::pair<std::string, SteadyTime>> ReleaseTracker::TakeDirty() {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, SteadyTime>> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& id : dirty_) {
    if (auto it = active_.find(id); it != active_.end()) out.emplace_back(id, it->second.first_arrival.value_or(now));
  }
  dirty_.clear();
  return out;
}

std::vector<std::pair<std::string, SteadyTime>> ReleaseTracker::All() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, SteadyTime>> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [id, t] : active_) out.emplace_back(id, t.first_arrival.value_or(now));
  return out;
}

std::vector<store::Release> ReleaseTracker::Releases() const {
  std::lock_guard lock(mutex_);
  std::vector<store::Release> out;
  out.reserve(active_.size());
  for (const auto& [id, t] : active_) out.push_back(t.release);
  return out;
}

void ReleaseTracker::ForgetLocked(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  if (it->second.latest) {
    if (finished_.size() >= kMaxFinishedKept) finished_.erase(finished_.begin());
    finished_[id] = *it->second.latest;
  }
  by_service_env_[{it->second.release.service, it->second.release.environment}].erase(id);
  active_.erase(it);
}

}  // namespace backstop::evaluator
