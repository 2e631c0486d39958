#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/decision/evaluate.hpp"
#include "backstop/telemetry/sample.hpp"

namespace backstop::telemetry {

// A sample as posted, after validation (identifiers checked, value finite).
struct IncomingSample {
  std::string service;
  std::string environment;
  std::string version;
  std::string signal;
  std::string source = "default";
  Sample sample;
};

enum class AppendResult { kAccepted, kSeriesLimit };

// Telemetry in memory: bounded per-series time windows, series = (service,
// environment, version, signal, source).
//
// Sharded by (service, environment, signal), so every version and source of
// one signal lives in one shard: a release's canary and baseline for a
// signal are read under one shard lock, and writers to other signals never
// contend. No global lock on the hot path; the live-series count is atomic.
//
// Each series keeps samples newer than `retention` (the largest evaluation
// window in use) and at most `max_samples_per_series`, oldest dropped first.
// Thread-safe.
class WindowStore {
 public:
  WindowStore(std::int64_t max_series, Millis retention, std::size_t max_samples_per_series = 20000);

  // Appends one sample. A sample for a series that does not exist yet is
  // refused once `max_series` series are live; existing series keep working.
  AppendResult Append(const IncomingSample& s);

  // The canary and baseline samples of every source of `signal`.
  std::vector<decision::SeriesPair> Snapshot(const std::string& service, const std::string& environment,
                                             const std::string& signal, const std::string& version,
                                             const std::optional<std::string>& previous_version) const;

  // Drops samples older than now - retention and series left empty.
  void Prune(TimePoint now);

  void SetRetention(Millis retention);
  Millis retention() const { return Millis(retention_ms_.load()); }
  std::int64_t series_count() const { return series_count_.load(); }

 private:
  struct Series {
    std::deque<Sample> samples;  // sorted by time
  };
  // All versions and sources of one (service, environment, signal).
  struct SignalGroup {
    std::map<std::pair<std::string, std::string>, Series> by_version_source;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, SignalGroup> groups;  // key: service \x1f environment \x1f signal
  };

  // Valid until this thread's next call.
  static const std::string& GroupKey(const std::string& service, const std::string& environment,
                              const std::string& signal);
  Shard& ShardFor(const std::string& group_key) const;

  static constexpr std::size_t kShards = 64;
  const std::int64_t max_series_;
  const std::size_t max_samples_per_series_;
  std::atomic<std::int64_t> retention_ms_;
  std::atomic<std::int64_t> series_count_{0};
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace backstop::telemetry
