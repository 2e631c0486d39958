#include "backstop/decision/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

namespace backstop::decision {

namespace {

// The mean of finite values that are large enough for their plain sum to
// overflow (three samples of 1.7e308): each value is scaled by 1/n before it
// is added, in long double, so no partial sum can exceed the largest
// magnitude. The mean of values lies between their smallest and largest, so
// the result is clamped there: whatever rounding did, it stays finite and
// inside the samples' range. Only this rare path pays for it; every sum that
// stays finite is divided as before, bit for bit.
double OverflowSafeMean(std::span<const telemetry::Sample> samples) {
  const auto n = static_cast<long double>(samples.size());
  long double mean = 0.0L;
  double lowest = samples.front().value;
  double highest = samples.front().value;
  for (const auto& s : samples) {
    mean += static_cast<long double>(s.value) / n;
    lowest = std::min(lowest, s.value);
    highest = std::max(highest, s.value);
  }
  const auto result = static_cast<double>(mean);
  if (!std::isfinite(result)) return result > 0 ? highest : lowest;
  return std::clamp(result, lowest, highest);
}

}  // namespace

std::optional<double> Aggregate(policy::AggregateKind kind,
                                std::span<const telemetry::Sample> samples) {
  if (samples.empty()) return std::nullopt;
  switch (kind) {
    case policy::AggregateKind::kMean: {
      const auto n = static_cast<double>(samples.size());
      double sum = 0.0;
      for (const auto& s : samples) sum += s.value;
      if (std::isfinite(sum)) return sum / n;
      return OverflowSafeMean(samples);
    }
    case policy::AggregateKind::kMax: {
      double best = samples.front().value;
      for (const auto& s : samples) best = std::max(best, s.value);
      return best;
    }
    case policy::AggregateKind::kLast: {
      const telemetry::Sample* last = &samples.front();
      for (const auto& s : samples) {
        if (s.at >= last->at) last = &s;
      }
      return last->value;
    }
  }
  return std::nullopt;
}

// Each point is aggregated directly from the samples of its own window rather
// than by a running sum slid along the series: a running sum would carry the
// rounding of whatever samples it passed before, so the same point could come
// out a last bit different depending on where the series handed in started —
// and a point on the edge of a band must read the same every time. The cost is
// O(window samples) per new point, and evaluation only asks for the points
// that arrived since its previous run.
std::vector<AggregatePoint> AggregatesAtSampleTimes(policy::AggregateKind kind,
                                                    std::span<const telemetry::Sample> samples, Millis window,
                                                    std::optional<TimePoint> after, TimePoint until) {
  std::vector<telemetry::Sample> sorted;
  sorted.reserve(samples.size());
  for (const auto& s : samples) {
    if (s.at <= until) sorted.push_back(s);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const telemetry::Sample& a, const telemetry::Sample& b) { return a.at < b.at; });

  std::vector<AggregatePoint> out;
  std::size_t first = 0;  // the oldest sample inside the current point's window
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const TimePoint t = sorted[i].at;
    if (i + 1 < sorted.size() && sorted[i + 1].at == t) continue;  // one point per time, after its last sample
    if (after && t <= *after) continue;
    while (first < i && sorted[first].at <= t - window) ++first;
    const std::span<const telemetry::Sample> in_window(sorted.data() + first, i + 1 - first);
    out.push_back(AggregatePoint{t, *Aggregate(kind, in_window), static_cast<int>(in_window.size())});
  }
  return out;
}

MannWhitneyResult MannWhitneyU(std::span<const double> a, std::span<const double> b,
                               Alternative alternative) {
  MannWhitneyResult result;
  if (a.empty() || b.empty()) return result;

  const auto n_a = static_cast<double>(a.size());
  const auto n_b = static_cast<double>(b.size());
  const double n = n_a + n_b;

  // Pool the samples, remembering which came from A, and rank them with
  // average ranks over ties.
  std::vector<std::pair<double, bool>> pooled;
  pooled.reserve(a.size() + b.size());
  for (double v : a) pooled.emplace_back(v, true);
  for (double v : b) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });

  double rank_sum_a = 0.0;
  double tie_term = 0.0;  // sum over tie groups of (t^3 - t)
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const auto t = static_cast<double>(j - i);
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (pooled[k].second) rank_sum_a += average_rank;
    }
    tie_term += t * t * t - t;
    i = j;
  }

  result.u = rank_sum_a - n_a * (n_a + 1.0) / 2.0;
  const double mean = n_a * n_b / 2.0;
  const double variance = n_a * n_b / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
  if (!(variance > 0.0)) return result;  // every value tied: no evidence either way
  const double sigma = std::sqrt(variance);

  if (alternative == Alternative::kGreater) {
    result.z = (result.u - mean - 0.5) / sigma;
    result.p_value = 0.5 * std::erfc(result.z / std::sqrt(2.0));   // P(Z >= z)
  } else {
    result.z = (result.u - mean + 0.5) / sigma;
    result.p_value = 0.5 * std::erfc(-result.z / std::sqrt(2.0));  // P(Z <= z)
  }
  result.p_value = std::clamp(result.p_value, 0.0, 1.0);
  return result;
}

}  // namespace backstop::decision
