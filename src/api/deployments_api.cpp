// POST /v1/deployments, POST /v1/releases/{id}/traffic, GET /v1/releases[/{id}].
#include <cmath>

#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/deployment_json.hpp"
#include "backstop/api/escalation_json.hpp"
#include "backstop/api/release_json.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/workflow/release_registration.hpp"

namespace backstop::api {

namespace {

void PostDeployment(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  auto body = ParseJsonObject(rc.request.body);
  if (!body) return respond(http::ErrorResponse(body.error()));
  auto parsed = ParseDeployment(*body, ctx.registry, {}, rc.request.body);  // api/deployment_json
  if (!parsed) return respond(http::ErrorResponse(parsed.error()));
  const std::string deployed_by = rc.principal->name;
  struct Registered {
    store::RegisterOutcome outcome;
    ReleaseView view;
  };
  RunDb<Registered>(
      ctx, std::move(respond),
      [&ctx, r = std::move(parsed).value(), deployed_by](pqxx::connection& conn) -> Result<Registered> {
        pqxx::work tx(conn);
        auto out = workflow::RegisterRelease(tx, ctx.config.notifiers, r, deployed_by);
        if (!out) return out.error();
        // A release just created has no decisions to read back.
        ReleaseView view = out->created ? ReleaseView{out->release, {}} : LoadView(tx, out->release);
        tx.commit();
        return Registered{std::move(out).value(), std::move(view)};
      },
      [&ctx](Registered& reg) {
        if (reg.outcome.created) {
          ctx.metrics.CountDeployment(reg.outcome.release.release_class, reg.outcome.release.environment);
          ctx.evaluator.NotifyRelease(reg.outcome.release);
        }
        return WrapRelease(ctx, reg.outcome.created ? 201 : 200, reg.view);
      });
}

void PostTraffic(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string id = rc.params.at(0);
  if (!IsValidReleaseId(id)) return respond(http::ErrorResponse(Error::NotFound("no release " + id)));
  auto body = ParseJsonObject(rc.request.body);
  if (!body) return respond(http::ErrorResponse(body.error()));
  if (auto s = RejectUnknownFields(*body, {"traffic_percent"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  const auto traffic = ParseTrafficPercent(*body);
  if (!traffic) return respond(http::ErrorResponse(traffic.error()));
  const std::string actor = rc.principal->name;
  RunDb<ReleaseView>(
      ctx, std::move(respond),
      [id, traffic = *traffic, actor](pqxx::connection& conn) -> Result<ReleaseView> {
        pqxx::work tx(conn);
        auto r = workflow::ChangeTraffic(tx, id, traffic, actor);
        if (!r) return r.error();
        ReleaseView view = LoadView(tx, std::move(r).value());
        tx.commit();
        return view;
      },
      [&ctx](ReleaseView& v) {
        ctx.evaluator.NotifyRelease(v.release);
        return WrapRelease(ctx, 200, v);
      });
}

void ListReleases(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"service", "environment", "status", "limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  store::ReleaseQuery q;
  auto page = ParsePageParams(req);
  if (!page) return respond(http::ErrorResponse(page.error()));
  q.limit = page->limit;
  q.before_seq = page->cursor;
  for (auto [name, out] : {std::pair<const char*, std::optional<std::string>*>{"service", &q.service},
                           {"environment", &q.environment}}) {
    if (auto s = ReadIdentifierParam(req, name, *out); !s) return respond(http::ErrorResponse(s.error()));
  }
  if (auto st = req.Query("status")) {
    q.status = domain::ParseReleaseStatus(*st);
    if (!q.status) {
      return respond(http::ErrorResponse(Error::InvalidInput("status: unknown release status " + *st, {"status"})));
    }
  }
  struct ViewPage {
    std::vector<ReleaseView> views;
    std::optional<std::int64_t> next;
  };
  RunDb<ViewPage>(
      ctx, std::move(respond),
      [q](pqxx::connection& conn) -> Result<ViewPage> {
        pqxx::read_transaction tx(conn);
        store::ReleasePage page = store::ReleaseRepository::List(tx, q);
        std::vector<std::string> ids;
        for (const auto& r : page.items) ids.push_back(r.id);
        auto decisions = store::DecisionRepository::ListForReleases(tx, ids);
        ViewPage out{{}, page.next};
        for (auto& r : page.items) {
          auto d = std::move(decisions[r.id]);
          out.views.push_back(ReleaseView{std::move(r), std::move(d)});
        }
        return out;
      },
      [&ctx](ViewPage& page) {
        boost::json::array items;
        for (const auto& v : page.views) items.push_back(ReleaseResource(ctx, v));
        return ListResponse("releases", std::move(items), page.next);
      });
}

void GetRelease(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string id = rc.params.at(0);
  if (!IsValidReleaseId(id)) return respond(http::ErrorResponse(Error::NotFound("no release " + id)));
  RunDb<ReleaseView>(
      ctx, std::move(respond),
      [id](pqxx::connection& conn) -> Result<ReleaseView> {
        pqxx::read_transaction tx(conn);
        auto r = store::ReleaseRepository::Find(tx, id);
        if (!r) return Error::NotFound("no release " + id);
        return LoadView(tx, std::move(*r));
      },
      [&ctx](ReleaseView& v) { return WrapRelease(ctx, 200, v); });
}

}  // namespace

void AddDeploymentRoutes(http::Router& router, ApiContext& ctx) {
  // Pipelines report deployments and traffic steps through these two routes,
  // at their pace: the caller comes from memory when the database confirmed
  // it less than a second ago (README "Tokens": a revocation stops the token
  // within a second on every process, database outage or not), so a report
  // costs no database round trip for authentication.
  router.Add({"POST", "/v1/deployments", kDeployers, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostDeployment(ctx, rc, std::move(respond));
              },
              http::TokenCheck::kRecent});
  router.Add({"POST", "/v1/releases/{id}/traffic", kDeployers, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostTraffic(ctx, rc, std::move(respond));
              },
              http::TokenCheck::kRecent});
  router.Add({"GET", "/v1/releases", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListReleases(ctx, rc, std::move(respond));
              }});
  router.Add({"GET", "/v1/releases/{id}", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                GetRelease(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
