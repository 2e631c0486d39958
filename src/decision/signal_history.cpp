#include "backstop/decision/signal_history.hpp"

#include <algorithm>

namespace backstop::decision {

// An insufficient or stale evaluation clears breach_since: a breach that was
// not observed has not "held", so breach_for starts again once the data is
// back (the safer reading: it can only delay an automatic rollback, and while
// a critical signal is insufficient or stale nothing rolls back by itself
// anyway). It is not a flip, and last_breach keeps the last observed
// pass/breach, so breach -> stale -> pass still counts as one flip.
SignalHistory AdvanceSignalHistory(const SignalHistory& previous, SignalState state, TimePoint now, Millis window) {
  SignalHistory next = previous;
  if (state == SignalState::kBreach || state == SignalState::kPass) {
    const bool breach = state == SignalState::kBreach;
    if (next.last_breach.has_value() && *next.last_breach != breach) next.flips.push_back(now);
    next.last_breach = breach;
  }
  if (state == SignalState::kBreach) {
    if (!next.breach_since) next.breach_since = now;
  } else {
    next.breach_since.reset();
  }
  // Same boundary as the sample window: a flip exactly `window` old is out.
  const TimePoint window_start = now - window;
  std::erase_if(next.flips, [&](TimePoint at) { return at <= window_start; });
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
