// GET /v1/escalations[/{id}] and GET /v1/actions (approving is in approvals_api).
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/escalation_json.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/escalation_repository.hpp"

namespace backstop::api {

namespace {

void ListEscalations(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"state", "release_id", "service", "environment", "limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  store::EscalationQuery q;
  auto page = ParsePageParams(req);
  if (!page) return respond(http::ErrorResponse(page.error()));
  q.limit = page->limit;
  q.before_seq = page->cursor;
  if (auto st = req.Query("state")) {
    q.state = domain::ParseEscalationState(*st);
    if (!q.state) {
      return respond(http::ErrorResponse(Error::InvalidInput(
          "state: must be one of pending, approved, rejected, expired, superseded", {"state"})));
    }
  }
  for (auto [name, out] : {std::pair<const char*, std::optional<std::string>*>{"release_id", &q.release_id},
                           {"service", &q.service},
                           {"environment", &q.environment}}) {
    if (auto s = ReadIdentifierParam(req, name, *out); !s) return respond(http::ErrorResponse(s.error()));
  }
  RunDb<store::Page<store::EscalationRow>>(
      ctx, std::move(respond),
      [q](pqxx::connection& conn) -> Result<store::Page<store::EscalationRow>> {
        pqxx::read_transaction tx(conn);
        return store::EscalationRepository::List(tx, q);
      },
      [](store::Page<store::EscalationRow>& page) {
        boost::json::array items;
        for (const auto& e : page.items) items.push_back(EscalationToJson(e));
        return ListResponse("escalations", std::move(items), page.next);
      });
}

void GetEscalation(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string id = rc.params.at(0);
  if (!IsValidIdentifier(id)) return respond(http::ErrorResponse(Error::NotFound("no escalation " + id)));
  RunDb<store::EscalationRow>(
      ctx, std::move(respond),
      [id](pqxx::connection& conn) -> Result<store::EscalationRow> {
        pqxx::read_transaction tx(conn);
        auto e = store::EscalationRepository::Find(tx, id);
        if (!e) return Error::NotFound("no escalation " + id);
        return *e;
      },
      [](store::EscalationRow& e) {
        boost::json::object body{{"escalation", EscalationToJson(e)}};
        return http::JsonResponse(200, Serialize(body));
      });
}

void ListActions(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"release_id", "limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  auto page = ParsePageParams(req);
  if (!page) return respond(http::ErrorResponse(page.error()));
  std::optional<std::string> release_id;
  if (auto s = ReadIdentifierParam(req, "release_id", release_id); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  RunDb<store::Page<store::ActionRow>>(
      ctx, std::move(respond),
      [release_id, p = *page](pqxx::connection& conn) -> Result<store::Page<store::ActionRow>> {
        pqxx::read_transaction tx(conn);
        return store::ActionRepository::List(tx, release_id, p.cursor, p.limit);
      },
      [](store::Page<store::ActionRow>& page) {
        boost::json::array items;
        for (const auto& a : page.items) items.push_back(ActionToJson(a));
        return ListResponse("actions", std::move(items), page.next);
      });
}

void GetAction(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string id = rc.params.at(0);
  if (!IsValidIdentifier(id)) return respond(http::ErrorResponse(Error::NotFound("no action " + id)));
  RunDb<store::ActionRow>(
      ctx, std::move(respond),
      [id](pqxx::connection& conn) -> Result<store::ActionRow> {
        pqxx::read_transaction tx(conn);
        auto a = store::ActionRepository::Find(tx, id);
        if (!a) return Error::NotFound("no action " + id);
        return *a;
      },
      [](store::ActionRow& a) {
        boost::json::object body{{"action", ActionToJson(a)}};
        return http::JsonResponse(200, Serialize(body));
      });
}

}  // namespace

void AddEscalationRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/escalations", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListEscalations(ctx, rc, std::move(respond));
              }});
  router.Add({"GET", "/v1/escalations/{id}", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                GetEscalation(ctx, rc, std::move(respond));
              }});
}

void AddActionRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/actions", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListActions(ctx, rc, std::move(respond));
              }});
  router.Add({"GET", "/v1/actions/{id}", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                GetAction(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
