#include "backstop/decision/evaluate.hpp"

#include <map>
#include <string_view>

#include "backstop/decision/bounds.hpp"
#include "backstop/decision/statistics.hpp"

namespace backstop::decision {

namespace {

constexpr std::string_view kDefaultSource = "default";

std::vector<double> Values(const std::vector<telemetry::Sample>& samples) {
  std::vector<double> values;
  values.reserve(samples.size());
  for (const auto& s : samples) values.push_back(s.value);
  return values;
}

}  // namespace

std::string_view ToString(SignalState s) {
  switch (s) {
    case SignalState::kPass: return "pass";
    case SignalState::kBreach: return "breach";
    case SignalState::kInsufficient: return "insufficient";
    case SignalState::kStale: return "stale";
  }
  return "unknown";
}

std::string_view ToString(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kBreach: return "breach";
    case Verdict::kConflict: return "conflict";
    case Verdict::kInsufficient: return "insufficient";
  }
  return "unknown";
}

// The window is the half-open interval (now - window, now]: a sample exactly
// `window` old is out, and a sample dated after `now` (a client clock slightly
// ahead; ingest allows up to 60 s) does not count until `now` reaches it.
//
// Staleness is judged on the newest canary sample at or before `now`,
// whatever the window: a series that stopped reporting is `stale` (strictly
// older than max_staleness; exactly max_staleness old is still fresh), not
// merely thin. Only a canary with no sample at all is `insufficient` before
// the count is even looked at. Breach flags are only computed for a canary
// with enough fresh samples; an insufficient or stale signal never breaches.
SignalEvaluation EvaluateSeries(const policy::SignalRule& rule,
                                const policy::EvaluationRule& evaluation, const SeriesPair& series,
                                bool previous_version_known, TimePoint now) {
  SignalEvaluation out;
  out.name = rule.name;
  out.source = series.source;
  out.critical = rule.critical;
  out.bad_when = rule.bad_when;
  out.bound = rule.bad_when == policy::BadWhen::kAbove ? rule.max : rule.min;

  const TimePoint window_start = now - evaluation.window;
  const auto in_window = [&](const telemetry::Sample& s) { return s.at > window_start && s.at <= now; };

  std::vector<telemetry::Sample> canary;
  std::optional<TimePoint> newest;
  for (const auto& s : series.canary) {
    if (s.at > now) continue;
    if (!newest || s.at > *newest) newest = s.at;
    if (in_window(s)) canary.push_back(s);
  }
  if (!canary.empty()) {
    out.canary = AggregateValue{*Aggregate(rule.aggregate, canary), static_cast<int>(canary.size()), newest};
  }

  // The baseline is the previous version's series of the same source. It is
  // recorded as evidence whenever it has samples in the window, but it is only
  // trusted (absolute check, ratio comparison) with min_samples of them; with
  // fewer, the comparison is skipped and the canary's absolute bound alone
  // applies. The baseline's absolute check needs no `baseline:` rule: it only
  // feeds conflict.baseline_degraded.
  std::vector<telemetry::Sample> baseline;
  if (previous_version_known) {
    std::optional<TimePoint> baseline_newest;
    for (const auto& s : series.baseline) {
      if (!in_window(s)) continue;
      baseline.push_back(s);
      if (!baseline_newest || s.at > *baseline_newest) baseline_newest = s.at;
    }
    if (!baseline.empty()) {
      out.baseline = AggregateValue{*Aggregate(rule.aggregate, baseline), static_cast<int>(baseline.size()),
                                    baseline_newest};
    }
  }
  out.baseline_trusted = out.baseline && out.baseline->samples >= evaluation.min_samples;
  if (out.baseline_trusted) out.baseline_absolute_breach = ViolatesBound(rule, out.baseline->value);

  if (!newest) {
    out.state = SignalState::kInsufficient;
    return out;
  }
  if (now - *newest > evaluation.max_staleness) {
    out.state = SignalState::kStale;
    return out;
  }
  if (!out.canary || out.canary->samples < evaluation.min_samples) {
    out.state = SignalState::kInsufficient;
    return out;
  }

  out.absolute_breach = ViolatesBound(rule, out.canary->value);
  if (rule.baseline && out.baseline_trusted) {
    const policy::BaselineRule& b = *rule.baseline;
    const bool worse = WorseByRatioAndDelta(rule, b, out.canary->value, out.baseline->value);
    bool significant = true;
    if (b.test == policy::StatTest::kMannWhitney) {
      // The test keeps one spike in the window from reading as a regression:
      // the mean can move on a single outlier, the ranks barely do.
      const auto alternative = rule.bad_when == policy::BadWhen::kAbove ? Alternative::kGreater : Alternative::kLess;
      const std::vector<double> canary_values = Values(canary);
      const std::vector<double> baseline_values = Values(baseline);
      const MannWhitneyResult test = MannWhitneyU(canary_values, baseline_values, alternative);
      out.p_value = test.p_value;
      significant = test.p_value < 1.0 - b.confidence;
    }
    out.baseline_breach = worse && significant;
  }
  out.state = out.absolute_breach || out.baseline_breach ? SignalState::kBreach : SignalState::kPass;
  return out;
}

// A source for which only the previous version reported (no canary sample)
// is a series too, and is insufficient: the release is missing telemetry its
// predecessor had.
std::vector<const SeriesPair*> SeriesOf(const policy::SignalRule& rule, const TelemetrySnapshot& telemetry,
                                        std::deque<SeriesPair>& merged) {
  // Sorted by source, so evaluations come out in a stable order.
  std::map<std::string, std::vector<const SeriesPair*>> by_source;
  for (const SeriesPair& pair : telemetry.series) {
    if (pair.signal != rule.name) continue;
    by_source[pair.source.empty() ? std::string(kDefaultSource) : pair.source].push_back(&pair);
  }
  std::vector<const SeriesPair*> out;
  if (by_source.empty()) {
    out.push_back(&merged.emplace_back(SeriesPair{rule.name, std::string(kDefaultSource), {}, {}}));
    return out;
  }
  for (const auto& [source, pairs] : by_source) {
    if (pairs.size() == 1 && pairs.front()->source == source) {
      out.push_back(pairs.front());
      continue;
    }
    SeriesPair& m = merged.emplace_back();
    m.signal = rule.name;
    m.source = source;
    for (const SeriesPair* pair : pairs) {
      m.canary.insert(m.canary.end(), pair->canary.begin(), pair->canary.end());
      m.baseline.insert(m.baseline.end(), pair->baseline.begin(), pair->baseline.end());
    }
    out.push_back(&m);
  }
  return out;
}

std::vector<SignalEvaluation> EvaluateSignals(const ReleaseFacts& release, const policy::ThresholdSet& thresholds,
                                              const TelemetrySnapshot& telemetry, TimePoint now) {
  const bool previous_version_known = release.previous_version.has_value();
  std::vector<SignalEvaluation> out;
  std::deque<SeriesPair> merged;
  for (const policy::SignalRule& rule : thresholds.signals) {
    for (const SeriesPair* pair : SeriesOf(rule, telemetry, merged)) {
      out.push_back(EvaluateSeries(rule, thresholds.evaluation, *pair, previous_version_known, now));
    }
  }
  return out;
}

}  // namespace backstop::decision
