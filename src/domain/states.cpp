#include "backstop/domain/states.hpp"

#include <algorithm>
#include <array>

#include "backstop/common/wire_table.hpp"

namespace backstop::domain {

namespace {

constexpr WireTable<ReleaseStatus, 8> kReleaseStatuses{{
    {ReleaseStatus::kEvaluating, "evaluating"},
    {ReleaseStatus::kHealthy, "healthy"},
    {ReleaseStatus::kRollingBack, "rolling_back"},
    {ReleaseStatus::kRolledBack, "rolled_back"},
    {ReleaseStatus::kRollbackFailed, "rollback_failed"},
    {ReleaseStatus::kEscalated, "escalated"},
    {ReleaseStatus::kRollbackRejected, "rollback_rejected"},
    {ReleaseStatus::kSuperseded, "superseded"},
}};

constexpr WireTable<EscalationState, 5> kEscalationStates{{
    {EscalationState::kPending, "pending"},
    {EscalationState::kApproved, "approved"},
    {EscalationState::kRejected, "rejected"},
    {EscalationState::kExpired, "expired"},
    {EscalationState::kSuperseded, "superseded"},
}};

constexpr WireTable<ActionState, 4> kActionStates{{
    {ActionState::kPending, "pending"},
    {ActionState::kRunning, "running"},
    {ActionState::kSucceeded, "succeeded"},
    {ActionState::kFailed, "failed"},
}};

constexpr WireTable<DecidedBy, 2> kDecidedBy{{
    {DecidedBy::kAuto, "auto"},
    {DecidedBy::kApproval, "approval"},
}};

constexpr WireTable<NotificationState, 4> kNotificationStates{{
    {NotificationState::kPending, "pending"},
    {NotificationState::kRunning, "running"},
    {NotificationState::kSucceeded, "succeeded"},
    {NotificationState::kFailed, "failed"},
}};

using E = NotificationEvent;
constexpr WireTable<NotificationEvent, 9> kNotificationEvents{{
    {E::kEscalationOpened, "escalation.opened"},
    {E::kEscalationApproved, "escalation.approved"},
    {E::kEscalationRejected, "escalation.rejected"},
    {E::kEscalationExpired, "escalation.expired"},
    {E::kEscalationSuperseded, "escalation.superseded"},
    {E::kActionSucceeded, "action.succeeded"},
    {E::kActionFailed, "action.failed"},
    {E::kRollbackFailed, "rollback.failed"},
    {E::kRollbackIneffective, "rollback.ineffective"},
}};
constexpr std::array<NotificationEvent, 9> kAllEvents = [] {
  std::array<NotificationEvent, 9> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = kNotificationEvents[i].first;
  return out;
}();

struct Move {
  ReleaseStatus from;
  ReleaseStatus to;
};

// Every legal release move, and who makes it:
//   decision commit: evaluating|escalated -> healthy|rolling_back|escalated
//   approval flow:   escalated|rollback_failed -> rolling_back | rollback_rejected
//   action outcome:  rolling_back -> rolled_back | rollback_failed
//   registration:    evaluating|escalated|rollback_rejected|rollback_failed -> superseded
using S = ReleaseStatus;
constexpr Move kMoves[] = {
    {S::kEvaluating, S::kHealthy},          {S::kEvaluating, S::kRollingBack},
    {S::kEvaluating, S::kEscalated},        {S::kEvaluating, S::kSuperseded},
    {S::kEscalated, S::kHealthy},           {S::kEscalated, S::kRollingBack},
    {S::kEscalated, S::kEscalated},         {S::kEscalated, S::kRollbackRejected},
    {S::kEscalated, S::kSuperseded},        {S::kRollingBack, S::kRolledBack},
    {S::kRollingBack, S::kRollbackFailed},  {S::kRollbackFailed, S::kRollingBack},
    {S::kRollbackFailed, S::kRollbackRejected}, {S::kRollbackFailed, S::kSuperseded},
    {S::kRollbackRejected, S::kSuperseded},
};

}  // namespace

std::string_view ToString(ReleaseStatus s) { return WireName(kReleaseStatuses, s); }
std::optional<ReleaseStatus> ParseReleaseStatus(std::string_view text) { return ParseWire(kReleaseStatuses, text); }

bool IsLegalTransition(ReleaseStatus from, ReleaseStatus to) {
  return std::any_of(std::begin(kMoves), std::end(kMoves),
                     [&](const Move& m) { return m.from == from && m.to == to; });
}

bool IsEvaluable(ReleaseStatus s) { return s == ReleaseStatus::kEvaluating || s == ReleaseStatus::kEscalated; }

std::string_view ToString(EscalationState s) { return WireName(kEscalationStates, s); }
std::optional<EscalationState> ParseEscalationState(std::string_view text) {
  return ParseWire(kEscalationStates, text);
}

std::string_view ToString(ActionState s) { return WireName(kActionStates, s); }
std::optional<ActionState> ParseActionState(std::string_view text) { return ParseWire(kActionStates, text); }

std::string_view ToString(NotificationState s) { return WireName(kNotificationStates, s); }
std::optional<NotificationState> ParseNotificationState(std::string_view text) {
  return ParseWire(kNotificationStates, text);
}

std::string_view ToString(NotificationEvent e) { return WireName(kNotificationEvents, e); }
std::optional<NotificationEvent> ParseNotificationEvent(std::string_view text) {
  return ParseWire(kNotificationEvents, text);
}
std::span<const NotificationEvent> AllNotificationEvents() { return kAllEvents; }
std::string NotificationEventNames() { return JoinWireNames(kNotificationEvents); }
bool EndsEscalation(NotificationEvent e) {
  return e == E::kEscalationApproved || e == E::kEscalationRejected || e == E::kEscalationExpired ||
         e == E::kEscalationSuperseded;
}

std::string_view ToString(DecidedBy d) { return WireName(kDecidedBy, d); }
std::optional<DecidedBy> ParseDecidedBy(std::string_view text) { return ParseWire(kDecidedBy, text); }

}  // namespace backstop::domain
