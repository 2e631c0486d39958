#include "backstop/notify/routing.hpp"

#include <gtest/gtest.h>

namespace backstop::notify {
namespace {

using config::NotifierConfig;
using config::NotifierType;
using E = domain::NotificationEvent;

NotifierConfig Notifier(NotifierType type, std::vector<E> events, std::string match = "*") {
  NotifierConfig n;
  n.name = "n";
  n.type = type;
  n.events = std::move(events);
  n.match = std::move(match);
  return n;
}

Occurrence About(std::vector<E> names, std::string service = "checkout") { return {std::move(names), std::move(service)}; }

TEST(RoutingTest, AChatNotifierIsToldTheEventsItSubscribesTo) {
  const auto slack = Notifier(NotifierType::kSlack, {E::kEscalationOpened, E::kActionSucceeded});
  EXPECT_EQ(Route(slack, About({E::kEscalationOpened}), false), E::kEscalationOpened);
  EXPECT_EQ(Route(slack, About({E::kActionSucceeded}), false), E::kActionSucceeded);
  EXPECT_EQ(Route(slack, About({E::kEscalationApproved}), false), std::nullopt);
}

TEST(RoutingTest, TheMatchGlobFiltersByService) {
  const auto webhook = Notifier(NotifierType::kWebhook, {E::kEscalationOpened}, "payments-*");
  EXPECT_EQ(Route(webhook, About({E::kEscalationOpened}, "payments-api"), false), E::kEscalationOpened);
  EXPECT_EQ(Route(webhook, About({E::kEscalationOpened}, "checkout"), false), std::nullopt);
}

TEST(RoutingTest, AnOccurrenceIsToldOnceAsTheMostSpecificSubscribedName) {
  const auto both = Notifier(NotifierType::kWebhook, {E::kEscalationOpened, E::kRollbackFailed});
  const auto general = Notifier(NotifierType::kWebhook, {E::kEscalationOpened});
  const auto failed_rollback = About({E::kRollbackFailed, E::kEscalationOpened});
  EXPECT_EQ(Route(both, failed_rollback, false), E::kRollbackFailed);
  EXPECT_EQ(Route(general, failed_rollback, false), E::kEscalationOpened);
}

TEST(RoutingTest, PagerDutyPagesOnOpeningsItSubscribesTo) {
  const auto pd = Notifier(NotifierType::kPagerDuty, {E::kEscalationOpened, E::kRollbackIneffective});
  EXPECT_EQ(Route(pd, About({E::kEscalationOpened}), false), E::kEscalationOpened);
  EXPECT_EQ(Route(pd, About({E::kRollbackIneffective, E::kEscalationOpened}), false), E::kRollbackIneffective);
  EXPECT_EQ(Route(pd, About({E::kRollbackFailed, E::kEscalationOpened}), false), E::kEscalationOpened);
  const auto only_failures = Notifier(NotifierType::kPagerDuty, {E::kRollbackFailed});
  EXPECT_EQ(Route(only_failures, About({E::kEscalationOpened}), false), std::nullopt);
}

TEST(RoutingTest, PagerDutyResolvesWhatItPagedWhateverItsEventsSay) {
  const auto pd = Notifier(NotifierType::kPagerDuty, {E::kEscalationOpened});
  for (const auto ending : {E::kEscalationApproved, E::kEscalationRejected, E::kEscalationExpired,
                            E::kEscalationSuperseded}) {
    EXPECT_EQ(Route(pd, About({ending}), true), ending);
    EXPECT_EQ(Route(pd, About({ending}), false), std::nullopt) << "nothing was paged, nothing to resolve";
  }
}

TEST(RoutingTest, AnEscalationOpenedForAFailedOrIneffectiveRollbackSaysSoFirst) {
  using R = decision::ReasonCode;
  EXPECT_EQ(OccurrenceOf(E::kEscalationOpened, "s", {R::kRollbackFailed}).names,
            (std::vector<E>{E::kRollbackFailed, E::kEscalationOpened}));
  EXPECT_EQ(OccurrenceOf(E::kEscalationOpened, "s", {R::kRollbackIneffective}).names,
            (std::vector<E>{E::kRollbackIneffective, E::kEscalationOpened}));
  EXPECT_EQ(OccurrenceOf(E::kEscalationOpened, "s", {R::kSignalBreach}).names, (std::vector<E>{E::kEscalationOpened}));
  EXPECT_EQ(OccurrenceOf(E::kEscalationExpired, "s", {R::kRollbackFailed}).names,
            (std::vector<E>{E::kEscalationExpired}));
}

TEST(RoutingTest, KeysNameTheNotifierTheEventAndTheSubject) {
  EXPECT_EQ(DedupKey("oncall", E::kEscalationOpened, "esc-1"), "oncall/escalation.opened/esc-1");
  EXPECT_EQ(OrderingKey("oncall", "rel-1"), "oncall/rel-1");
  EXPECT_EQ(PagingEvents().size(), 3u);
}

}  // namespace
}  // namespace backstop::notify
