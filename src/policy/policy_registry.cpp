#include "backstop/policy/policy_registry.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>

namespace backstop::policy {

void PolicyRegistry::Replace(std::vector<ThresholdSet> sets) {
  std::map<std::pair<std::string, std::int64_t>, SetPtr> fresh;
  for (auto& s : sets) {
    auto key = std::make_pair(s.release_class, s.version);
    fresh[key] = std::make_shared<const ThresholdSet>(std::move(s));
  }
  std::unique_lock lock(mutex_);
  sets_.swap(fresh);
}

PolicyRegistry::SetPtr PolicyRegistry::Find(const std::string& release_class,
                                            std::int64_t version) const {
  std::shared_lock lock(mutex_);
  auto it = sets_.find({release_class, version});
  return it == sets_.end() ? nullptr : it->second;
}

PolicyRegistry::SetPtr PolicyRegistry::Newest(const std::string& release_class) const {
  std::shared_lock lock(mutex_);
  // Keys sort by class then version, so the newest is the last of its class.
  auto it = sets_.upper_bound({release_class, std::numeric_limits<std::int64_t>::max()});
  if (it == sets_.begin()) return nullptr;
  --it;
  return it->first.first == release_class ? it->second : nullptr;
}

Millis PolicyRegistry::MaxRetention() const {
  std::shared_lock lock(mutex_);
  Millis max{0};
  for (const auto& [key, set] : sets_) {
    max = std::max(max, set->evaluation.window + set->evaluation.max_staleness);
  }
  return max;
}

std::size_t PolicyRegistry::size() const {
  std::shared_lock lock(mutex_);
  return sets_.size();
}

}  // namespace backstop::policy
