#include "backstop/telemetry/window_store.hpp"

#include <algorithm>

namespace backstop::telemetry {

WindowStore::WindowStore(std::int64_t max_series, Millis retention, std::size_t max_samples_per_series)
    : max_series_(max_series),
      max_samples_per_series_(max_samples_per_series),
      retention_ms_(retention.count()),
      shards_(std::make_unique<Shard[]>(kShards)) {}

const std::string& WindowStore::GroupKey(const std::string& service, const std::string& environment,
                                         const std::string& signal) {
  // Identifiers never contain \x1f, so the key is unambiguous. One buffer
  // per thread: a lookup allocates nothing once warm (ingestion looks up
  // per sample, a tick per release and signal).
  thread_local std::string key;
  key.clear();
  key.append(service).push_back('\x1f');
  key.append(environment).push_back('\x1f');
  key.append(signal);
  return key;
}

WindowStore::Shard& WindowStore::ShardFor(const std::string& group_key) const {
  return shards_[std::hash<std::string>{}(group_key) % kShards];
}

AppendResult WindowStore::Append(const IncomingSample& s) {
  const std::string& key = GroupKey(s.service, s.environment, s.signal);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  auto group_it = shard.groups.find(key);
  Series* series = nullptr;
  if (group_it != shard.groups.end()) {
    auto it = group_it->second.by_version_source.find({s.version, s.source});
    if (it != group_it->second.by_version_source.end()) series = &it->second;
  }
  if (series == nullptr) {
    // Reserve a slot first so concurrent shards cannot overshoot the cap.
    if (series_count_.fetch_add(1) >= max_series_) {
      series_count_.fetch_sub(1);
      return AppendResult::kSeriesLimit;
    }
    series = &shard.groups[key].by_version_source[{s.version, s.source}];
  }
  auto& samples = series->samples;
  if (samples.empty() || samples.back().at <= s.sample.at) {
    samples.push_back(s.sample);
  } else {
    // Late samples are rare; keep the deque sorted.
    auto pos = std::upper_bound(samples.begin(), samples.end(), s.sample.at,
                                [](TimePoint t, const Sample& x) { return t < x.at; });
    samples.insert(pos, s.sample);
  }
  while (samples.size() > max_samples_per_series_) samples.pop_front();
  return AppendResult::kAccepted;
}

std::vector<decision::SeriesPair> WindowStore::Snapshot(
    const std::string& service, const std::string& environment, const std::string& signal,
    const std::string& version, const std::optional<std::string>& previous_version) const {
  std::vector<decision::SeriesPair> out;
  const std::string& key = GroupKey(service, environment, signal);
  const Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  auto group_it = shard.groups.find(key);
  if (group_it == shard.groups.end()) return out;
  const auto& by = group_it->second.by_version_source;
  // Sources of the canary define the pairs; a baseline-only source is not a
  // canary series and so has nothing to compare.
  for (auto it = by.lower_bound({version, ""}); it != by.end() && it->first.first == version; ++it) {
    decision::SeriesPair pair;
    pair.signal = signal;
    pair.source = it->first.second;
    pair.canary.assign(it->second.samples.begin(), it->second.samples.end());
    if (previous_version) {
      auto b = by.find({*previous_version, pair.source});
      if (b != by.end()) pair.baseline.assign(b->second.samples.begin(), b->second.samples.end());
    }
    out.push_back(std::move(pair));
  }
  return out;
}

void WindowStore::Prune(TimePoint now) {
  const TimePoint cutoff = now - Millis(retention_ms_.load());
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    for (auto g = shard.groups.begin(); g != shard.groups.end();) {
      auto& by = g->second.by_version_source;
      for (auto it = by.begin(); it != by.end();) {
        auto& samples = it->second.samples;
        while (!samples.empty() && samples.front().at < cutoff) samples.pop_front();
        if (samples.empty()) {
          it = by.erase(it);
          series_count_.fetch_sub(1);
        } else {
          ++it;
        }
      }
      g = by.empty() ? shard.groups.erase(g) : std::next(g);
    }
  }
}

void WindowStore::SetRetention(Millis retention) { retention_ms_.store(retention.count()); }

}  // namespace backstop::telemetry
