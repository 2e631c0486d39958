#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backstop/decision/decide.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/workflow/decision_commit.hpp"

namespace backstop::evaluator {

using SteadyTime = std::chrono::steady_clock::time_point;

// The releases under evaluation, in memory: each with its evaluation
// history, latest evaluation and whether a human holds its question. Also
// which releases have unevaluated telemetry (dirty) and the last evaluation
// of releases that left (for their answers).
//
// Thread-safe: one mutex guards everything; no method calls out while
// holding it.
class ReleaseTracker {
 public:
  // The last evaluation decided nothing, and nothing it read can change its
  // answer before `until` (decision::NextChangeAt) as long as nothing it read
  // changed since (inputs_seq) and the mode and the telemetry retention are
  // these.
  struct Quiet {
    TimePoint until;
    std::uint64_t inputs_seq = 0;
    Mode mode = Mode::kNormal;
    Millis retention{0};
  };

  struct Tracked {
    store::Release release;
    decision::EvaluationHistory history;
    std::optional<decision::Evaluation> latest;
    bool pending_escalation = false;
    std::optional<SteadyTime> first_arrival;  // oldest telemetry not yet evaluated
    SteadyTime notified_at{};                 // when Upsert last touched it
    // (episode, decision) the database already holds: no need to ask again
    // until the episode changes (dry-run records, approved containment).
    std::optional<std::pair<int, decision::DecisionKind>> settled;
    // Consecutive decisions of the core whose transaction failed; 0 once one
    // commits (or the database answers that there is nothing to write).
    int commit_failures = 0;
    // Counts changes to what an evaluation reads: telemetry arrivals
    // (MarkTouched), a changed row or escalation (Upsert, Sync), a settled or
    // committed decision.
    std::uint64_t inputs_seq = 0;
    std::optional<Quiet> quiet;
  };

  // Telemetry for these (service, environment) pairs arrived; returns
  // whether any tracked release was marked dirty.
  bool MarkTouched(const std::set<std::pair<std::string, std::string>>& touched, SteadyTime arrival);
  // A release was registered or changed (it may have superseded others).
  void Upsert(const store::Release& release);
  // Replaces the tracked set with what the database holds; releases
  // upserted after `read_started` are kept (the read could not see them).
  void Sync(const std::vector<store::Release>& evaluable, const std::set<std::string>& pending,
            SteadyTime read_started);

  std::optional<decision::Evaluation> Latest(const std::string& id) const;
  // A copy for one evaluation, without `latest` (an evaluation does not read
  // the previous one, and copying it was most of this call's cost over a
  // large fleet); clears its first arrival.
  std::optional<Tracked> Checkout(const std::string& id);
  // Stores an evaluation's result (moved in) and whether the release is quiet
  // until some time; returns the conflicts new since the last one.
  std::vector<decision::ReasonCode> RecordEvaluation(const std::string& id, decision::Evaluation&& evaluation,
                                                     decision::EvaluationHistory&& history,
                                                     std::optional<Quiet> quiet);
  // True when the release is quiet at `now` under `mode` and `retention`:
  // its latest evaluation stands as it would be computed now, and is marked
  // evaluated at `now`. The tick then skips it without copying anything.
  bool StillQuiet(const std::string& id, TimePoint now, Mode mode, Millis retention);
  void MarkSettled(const std::string& id, int episode, decision::DecisionKind kind);
  // Applies a committed decision; forgets the release once it is no longer evaluable.
  void ApplyCommitted(const std::string& id, int episode, const workflow::CommittedDecision& c);

  // A decision of this release failed to commit; returns how many in a row.
  int RecordCommitFailure(const std::string& id);
  // Its decision transaction went through.
  void ClearCommitFailures(const std::string& id);
  // Releases whose latest decision failed to commit, sorted by id.
  std::vector<std::string> Uncommitted() const;

  // Dirty releases with the arrival time of their oldest unevaluated telemetry.
  std::vector<std::pair<std::string, SteadyTime>> TakeDirty();
  // Every tracked release (for the tick).
  std::vector<std::pair<std::string, SteadyTime>> All() const;
  // A copy of every tracked release (for the telemetry puller).
  std::vector<store::Release> Releases() const;

 private:
  void ForgetLocked(const std::string& id);

  mutable std::mutex mutex_;
  std::map<std::string, Tracked> active_;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> by_service_env_;
  std::set<std::string> dirty_;
  std::map<std::string, decision::Evaluation> finished_;  // last evaluation of releases that left
};

}  // namespace backstop::evaluator
