#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "backstop/policy/threshold_set.hpp"

namespace backstop::policy {

// Every stored threshold set, in memory, by (release_class, version).
// Releases are evaluated against the version they pinned, so old versions
// stay here even after newer ones load. Replaced whole after each load.
// Thread-safe: readers share a lock; sets are immutable once published.
class PolicyRegistry {
 public:
  using SetPtr = std::shared_ptr<const ThresholdSet>;

  void Replace(std::vector<ThresholdSet> sets);

  SetPtr Find(const std::string& release_class, std::int64_t version) const;
  SetPtr Newest(const std::string& release_class) const;
  std::size_t size() const;

  // How long telemetry must be kept: the largest window + max_staleness of
  // any stored set, so a silent series reads `stale`, not `insufficient`.
  Millis MaxRetention() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::pair<std::string, std::int64_t>, SetPtr> sets_;
};

}  // namespace backstop::policy
