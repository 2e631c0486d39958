#include "backstop/notify/routing.hpp"

#include <algorithm>
#include <array>

#include "backstop/config/glob.hpp"

namespace backstop::notify {

namespace {

using domain::NotificationEvent;

constexpr std::array<NotificationEvent, 3> kPaging = {
    NotificationEvent::kEscalationOpened, NotificationEvent::kRollbackFailed, NotificationEvent::kRollbackIneffective};

bool Subscribes(const config::NotifierConfig& n, NotificationEvent e) {
  return std::find(n.events.begin(), n.events.end(), e) != n.events.end();
}

bool IsPaging(NotificationEvent e) { return std::find(kPaging.begin(), kPaging.end(), e) != kPaging.end(); }

}  // namespace

std::span<const NotificationEvent> PagingEvents() { return kPaging; }

Occurrence OccurrenceOf(NotificationEvent event, const std::string& service,
                        const std::vector<decision::ReasonCode>& reasons) {
  Occurrence o{{event}, service};
  if (event != NotificationEvent::kEscalationOpened) return o;
  const auto carries = [&](decision::ReasonCode r) { return std::find(reasons.begin(), reasons.end(), r) != reasons.end(); };
  if (carries(decision::ReasonCode::kRollbackFailed)) {
    o.names.insert(o.names.begin(), NotificationEvent::kRollbackFailed);
  } else if (carries(decision::ReasonCode::kRollbackIneffective)) {
    o.names.insert(o.names.begin(), NotificationEvent::kRollbackIneffective);
  }
  return o;
}

std::optional<NotificationEvent> Route(const config::NotifierConfig& n, const Occurrence& o, bool paged_before) {
  if (o.names.empty() || !config::GlobMatch(n.match, o.service)) return std::nullopt;
  if (n.type == config::NotifierType::kPagerDuty) {
    if (domain::EndsEscalation(o.names.front())) {
      return paged_before ? std::optional<NotificationEvent>(o.names.front()) : std::nullopt;
    }
    for (const auto name : o.names) {
      if (IsPaging(name) && Subscribes(n, name)) return name;
    }
    return std::nullopt;
  }
  for (const auto name : o.names) {
    if (Subscribes(n, name)) return name;
  }
  return std::nullopt;
}

std::string DedupKey(const std::string& notifier, NotificationEvent event, const std::string& subject) {
  return notifier + "/" + std::string(domain::ToString(event)) + "/" + subject;
}

std::string OrderingKey(const std::string& notifier, const std::string& release_id) { return notifier + "/" + release_id; }

}  // namespace backstop::notify
