#include "backstop/auth/token_cache.hpp"

namespace backstop::auth {

TokenCache::TokenCache(TokenCachePolicy policy) : policy_(policy) {}

SteadyTime TokenCache::Since(const Entry& e, Freshness freshness) {
  return freshness == Freshness::kRecentRead ? e.read_at : e.checked_at;
}

bool TokenCache::Fresh(const Entry& e, SteadyTime now, Freshness freshness) const {
  return now - Since(e, freshness) < (e.principal ? policy_.positive_ttl : policy_.negative_ttl);
}

std::optional<TokenCache::Hit> TokenCache::Find(const std::string& hash, SteadyTime now, Freshness freshness) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(hash);
  if (it == entries_.end() || !Fresh(it->second, now, freshness)) return std::nullopt;
  const Entry& e = it->second;
  Hit hit{e.principal, std::nullopt};
  if (e.principal && now - Since(e, freshness) >= policy_.refresh_after && joinable_.count(hash) == 0) {
    hit.refresh = Begin(hash, true, now);
  }
  return hit;
}

bool TokenCache::RemembersUnknown(const std::string& hash, SteadyTime now) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(hash);
  return it != entries_.end() && !it->second.principal && Fresh(it->second, now);
}

std::optional<std::uint64_t> TokenCache::Join(const std::string& hash, Waiter waiter, SteadyTime now) {
  std::lock_guard lock(mutex_);
  if (const auto it = joinable_.find(hash); it != joinable_.end()) {
    pending_.at(it->second).waiters.push_back(std::move(waiter));
    return std::nullopt;
  }
  const std::uint64_t ticket = Begin(hash, true, now);
  pending_.at(ticket).waiters.push_back(std::move(waiter));
  return ticket;
}

std::uint64_t TokenCache::Confirm(const std::string& hash, Waiter waiter, SteadyTime now) {
  std::lock_guard lock(mutex_);
  const std::uint64_t ticket = Begin(hash, false, now);
  pending_.at(ticket).waiters.push_back(std::move(waiter));
  return ticket;
}

std::uint64_t TokenCache::Begin(const std::string& hash, bool shared, SteadyTime now) {
  const std::uint64_t ticket = next_ticket_++;
  pending_.emplace(ticket, Pending{hash, generation_, now, shared, {}});
  if (shared) joinable_[hash] = ticket;
  return ticket;
}

TokenCache::Completed TokenCache::Complete(std::uint64_t ticket, Outcome result, SteadyTime now) {
  std::lock_guard lock(mutex_);
  const auto it = pending_.find(ticket);
  if (it == pending_.end()) return Completed{std::move(result), {}};
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (const auto j = joinable_.find(p.hash); j != joinable_.end() && j->second == ticket) joinable_.erase(j);

  const bool current = p.generation == generation_;  // no Clear since the lookup began
  if (result.ok()) {
    if (current) Keep(p.hash, Entry{result.value(), p.started_at, p.started_at}, now);
    return Completed{std::move(result), std::move(p.waiters)};
  }
  if (current && p.shared && result.error().kind == ErrorKind::kUnavailable) {
    const auto known = entries_.find(p.hash);
    if (known != entries_.end() && known->second.principal) {
      known->second.checked_at = now;  // read_at stays: this is no read
      return Completed{Outcome(known->second.principal), std::move(p.waiters)};
    }
  }
  return Completed{std::move(result), std::move(p.waiters)};
}

void TokenCache::Keep(const std::string& hash, Entry entry, SteadyTime now) {
  if (entries_.size() >= policy_.max_entries && entries_.count(hash) == 0) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = Fresh(it->second, now) ? std::next(it) : entries_.erase(it);
    }
    if (entries_.size() >= policy_.max_entries) return;
  }
  entries_[hash] = std::move(entry);
}

void TokenCache::Clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  joinable_.clear();  // lookups in flight finish for their waiters only
  ++generation_;
}

std::size_t TokenCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace backstop::auth
