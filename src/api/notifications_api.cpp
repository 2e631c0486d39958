// GET /v1/notifications: the notification outbox, for people checking who was told what.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/store/notification_repository.hpp"

namespace backstop::api {

namespace {

boost::json::object NotificationToJson(const store::NotificationRow& n) {
  boost::json::object o;
  o["id"] = n.id;
  o["notifier"] = n.notifier;
  o["event"] = domain::ToString(n.event);
  o["release_id"] = n.release_id;
  o["escalation_id"] = OptionalJson(n.escalation_id);
  o["action_id"] = OptionalJson(n.action_id);
  o["state"] = domain::ToString(n.state);
  o["attempts"] = n.attempts;
  o["last_error"] = OptionalJson(n.last_error);
  o["last_status"] = n.last_status ? boost::json::value(*n.last_status) : nullptr;
  o["next_attempt_at"] = n.next_attempt_at ? boost::json::value(FormatRfc3339(*n.next_attempt_at)) : nullptr;
  o["created_at"] = FormatRfc3339(n.created_at);
  o["updated_at"] = FormatRfc3339(n.updated_at);
  return o;
}

void ListNotifications(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"state", "escalation_id", "limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  auto page = ParsePageParams(req);
  if (!page) return respond(http::ErrorResponse(page.error()));
  store::NotificationQuery q;
  q.limit = page->limit;
  q.before_seq = page->cursor;
  if (auto st = req.Query("state")) {
    q.state = domain::ParseNotificationState(*st);
    if (!q.state) {
      return respond(http::ErrorResponse(
          Error::InvalidInput("state: must be one of pending, running, succeeded, failed", {"state"})));
    }
  }
  if (auto s = ReadIdentifierParam(req, "escalation_id", q.escalation_id); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  RunDb<store::Page<store::NotificationRow>>(
      ctx, std::move(respond),
      [q](pqxx::connection& conn) -> Result<store::Page<store::NotificationRow>> {
        pqxx::read_transaction tx(conn);
        return store::NotificationRepository::List(tx, q);
      },
      [](store::Page<store::NotificationRow>& page) {
        boost::json::array items;
        for (const auto& n : page.items) items.push_back(NotificationToJson(n));
        return ListResponse("notifications", std::move(items), page.next);
      });
}

}  // namespace

void AddNotificationRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/notifications", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListNotifications(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
