#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/time_format.hpp"
#include "backstop/decision/bounds.hpp"
#include "backstop/decision/reason_code.hpp"
#include "backstop/policy/threshold_set.hpp"
#include "backstop/telemetry/sample.hpp"

namespace backstop::decision {

// The facts about a release the decision needs (no I/O types).
struct ReleaseFacts {
  std::string id;
  std::string service;
  std::string environment;
  std::string version;
  std::optional<std::string> previous_version;
  double traffic_percent = 0.0;
  bool shared_infrastructure = false;
  TimePoint started_at{};
};

// The samples of one signal and source: the canary series (this release's
// version) and the baseline series (previous_version, same source). Samples
// may be in any order and may include ones outside the window; evaluation
// filters by the window itself.
struct SeriesPair {
  std::string signal;
  std::string source;
  std::vector<telemetry::Sample> canary;
  std::vector<telemetry::Sample> baseline;
};

struct TelemetrySnapshot {
  std::vector<SeriesPair> series;
};

enum class SignalState { kPass, kBreach, kInsufficient, kStale };
std::string_view ToString(SignalState s);

struct AggregateValue {
  double value = 0.0;
  int samples = 0;
  std::optional<TimePoint> newest_at;
};

// The evaluation of one signal for one source.
struct SignalEvaluation {
  std::string name;
  std::string source;
  bool critical = true;
  SignalState state = SignalState::kInsufficient;
  policy::BadWhen bad_when = policy::BadWhen::kAbove;
  std::optional<double> bound;              // the absolute bound (max when above, min when below)
  std::optional<AggregateValue> canary;     // absent when the canary has no sample in the window
  std::optional<AggregateValue> baseline;   // absent without previous_version or samples
  bool baseline_trusted = false;            // baseline has min_samples in the window: compared, checked
  bool absolute_breach = false;             // canary aggregate violates max/min
  bool baseline_breach = false;             // worse than baseline by ratio, min_delta and test
  bool baseline_absolute_breach = false;    // baseline violates the same absolute bound
  std::optional<double> p_value;            // Mann-Whitney, when it ran
};

enum class Verdict { kPass, kBreach, kConflict, kInsufficient };
std::string_view ToString(Verdict v);

struct Evaluation {
  Verdict verdict = Verdict::kInsufficient;
  std::vector<SignalEvaluation> signals;
  std::vector<ReasonCode> conflicts;        // conflict.* codes present now (not yet counted)
  TimePoint evaluated_at{};
};

// What evaluation remembers between runs of one release: when a breach or a
// conflict started (for breach_for) and the crossings of the absolute bound
// (for flapping; see signal_history.cpp for the definition). Kept in memory by
// the evaluator. A restart loses breach_since, which only delays a decision
// (breach_for starts again), never hastens one; the flips are recounted from
// the samples still held (see AdvanceSignalHistory).
struct SignalHistory {
  std::optional<TimePoint> breach_since;
  std::optional<TimePoint> examined_through;  // newest canary sample time already examined for flips
  std::optional<BoundSide> side;              // side of the hysteresis band the canary aggregate last settled on
  std::vector<TimePoint> flips;               // sample times of the crossings, pruned to the window
};

struct EvaluationHistory {
  std::map<std::pair<std::string, std::string>, SignalHistory> signals;  // (signal, source)
  std::map<ReasonCode, TimePoint> conflict_since;
};

// The evaluation of one signal rule for one source at `now` (see
// evaluate.cpp for the window, staleness and breach rules). The baseline
// series is only read when `previous_version_known`. Pure.
[[nodiscard]] SignalEvaluation EvaluateSeries(const policy::SignalRule& rule,
                                              const policy::EvaluationRule& evaluation,
                                              const SeriesPair& series, bool previous_version_known,
                                              TimePoint now);

// The series of `rule` in `telemetry`, one per source, sorted by source:
// pairs repeated for one source are merged, a sample without a source has
// source "default", and a signal without any series gives one empty pair with
// source "default". A source with exactly one pair, already named, is
// pointed at in `telemetry` (no copy: a busy series holds thousands of
// samples and is evaluated hundreds of times a second); merged and empty
// pairs live in `merged`, which must outlive the answer. Pure.
[[nodiscard]] std::vector<const SeriesPair*> SeriesOf(const policy::SignalRule& rule,
                                                      const TelemetrySnapshot& telemetry,
                                                      std::deque<SeriesPair>& merged);

// Every signal rule of `thresholds` (in file order) for every source the
// snapshot holds for it (sorted by source); a signal without any series gives
// one evaluation with source "default" and state insufficient. Pure.
[[nodiscard]] std::vector<SignalEvaluation> EvaluateSignals(const ReleaseFacts& release,
                                                            const policy::ThresholdSet& thresholds,
                                                            const TelemetrySnapshot& telemetry,
                                                            TimePoint now);

}  // namespace backstop::decision
