#include "backstop/decision/signal_history.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "backstop/decision/bounds.hpp"
#include "backstop/decision/statistics.hpp"

namespace backstop::decision {

namespace {

// Flips. DESIGN: "a crossing of the absolute bound by the canary aggregate with
// hysteresis — from below 0.9 × the bound to above 1.1 × it, or back". The
// aggregate is read at every canary sample time, not at every evaluation: at a
// sample time t it is the window aggregate of the samples in (t - window, t],
// what evaluation would have seen with the sample at t as the newest. Each
// such point lands on a side of the band (clear, past, or inside it, which
// changes nothing), and moving from one side to the other is a flip at t.
//
// Why sample times: read at evaluation times the count would depend on how
// often the release is evaluated — an aggregate that goes past the bound and
// back between two runs is caught at 200 ms and missed at 1 s, and the
// evaluator runs both on a tick and on every telemetry arrival. Read at sample
// times, every sample is examined once, in time order, and the count is a
// function of the samples alone; evaluations only decide when it is noticed.
//
// - examined_through is the newest sample time already examined. A sample that
//   arrives later dated at or before it is not examined: late samples are rare,
//   and examining one would rewrite a past already counted.
// - A point with fewer than min_samples in its window is skipped, like an
//   insufficient evaluation. Staleness does not apply: the sample at t is
//   fresh at t, and a gap in telemetry simply has no points.
// - Without examined_through (the first evaluation of this signal and source,
//   or the first after a restart) every sample held is examined: for a release
//   evaluated from its start that is its whole series, and after a restart the
//   flips within the window are recounted rather than forgotten. The window
//   store keeps window + max_staleness + 60 s, so the points of a running
//   release always have their whole window; only the oldest points recounted
//   after a restart can miss the start of theirs.
// - The signal's state plays no part: a breach of the baseline comparison
//   with the canary far from its bound moves no point across the band, and an
//   aggregate hovering at the bound stays inside it (its breach or
//   conflict.baseline_degraded speaks for it instead).
void AdvanceFlips(SignalHistory& history, const policy::SignalRule& rule, const policy::EvaluationRule& evaluation,
                  std::span<const telemetry::Sample> canary, TimePoint now) {
  const std::vector<AggregatePoint> points =
      AggregatesAtSampleTimes(rule.aggregate, canary, evaluation.window, history.examined_through, now);
  for (const AggregatePoint& point : points) {
    history.examined_through = point.at;
    if (point.samples < evaluation.min_samples) continue;
    const std::optional<BoundSide> side = SideOfBand(rule, point.value);
    if (!side) continue;
    if (history.side && *history.side != *side) history.flips.push_back(point.at);
    history.side = side;
  }
  // Same boundary as the sample window: a flip exactly `window` old is out.
  const TimePoint window_start = now - evaluation.window;
  std::erase_if(history.flips, [&](TimePoint at) { return at <= window_start; });
}

}  // namespace

// An insufficient or stale evaluation clears breach_since: a breach that was
// not observed has not "held", so breach_for starts again once the data is
// back (the safer reading: it can only delay an automatic rollback, and while
// a critical signal is insufficient or stale nothing rolls back by itself
// anyway).
SignalHistory AdvanceSignalHistory(const SignalHistory& previous, const policy::SignalRule& rule,
                                   const policy::EvaluationRule& evaluation, SignalState state,
                                   std::span<const telemetry::Sample> canary, TimePoint now) {
  SignalHistory next = previous;
  if (state == SignalState::kBreach) {
    if (!next.breach_since) next.breach_since = now;
  } else {
    next.breach_since.reset();
  }
  AdvanceFlips(next, rule, evaluation, canary, now);
  return next;
}

bool BreachCounts(const SignalHistory& history, SignalState state, TimePoint now, Millis breach_for) {
  return state == SignalState::kBreach && history.breach_since.has_value() &&
         now - *history.breach_since >= breach_for;
}

std::map<ReasonCode, TimePoint> AdvanceConflictSince(const std::map<ReasonCode, TimePoint>& previous,
                                                     const std::vector<ReasonCode>& present, TimePoint now) {
  std::map<ReasonCode, TimePoint> next;
  for (ReasonCode code : present) {
    const auto it = previous.find(code);
    next[code] = it != previous.end() ? it->second : now;
  }
  return next;
}

}  // namespace backstop::decision
