// /healthz, /readyz and /metrics: no token, no body.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/api/openapi.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/db_probe.hpp"

namespace backstop::api {

namespace {

// Readiness must answer quickly even when the database hangs.
constexpr Millis kReadinessTimeout{2000};
// /readyz names at most this many releases with an uncommitted decision.
constexpr std::size_t kMaxListedReleases = 20;

}  // namespace

void AddSystemRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/healthz", {}, http::BodyPolicy::kNone,
              [](const http::RequestContext&, http::Respond respond) {
                respond(http::JsonResponse(200, R"({"status":"ok"})"));
              }});

  router.Add({"GET", "/readyz", {}, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext&, http::Respond respond) {
                if (ctx.draining()) {
                  return respond(http::JsonResponse(
                      503, R"({"status":"not_ready","checks":{"shutting_down":true}})"));
                }
                ctx.pool.Submit<bool>(
                    [](pqxx::connection& conn) -> Result<bool> {
                      store::Ping(conn);
                      return true;
                    },
                    [respond, &ctx](Result<bool> r) {
                      const bool thresholds = ctx.registry.size() > 0;
                      const bool evaluator = ctx.evaluator.active();
                      const bool ready = r.ok() && thresholds && evaluator;
                      boost::json::object checks{
                          {"database", r.ok()}, {"thresholds", thresholds}, {"evaluator", evaluator}};
                      boost::json::object body{{"status", ready ? "ready" : "not_ready"},
                                               {"checks", checks}};
                      // Not a readiness check (the process serves fine), but
                      // where an operator looks first: releases whose decision
                      // the database keeps refusing.
                      const std::vector<std::string> uncommitted = ctx.evaluator.UncommittedDecisions();
                      boost::json::array listed;
                      for (std::size_t i = 0; i < uncommitted.size() && i < kMaxListedReleases; ++i) {
                        listed.emplace_back(uncommitted[i]);
                      }
                      body["uncommitted_decisions"] =
                          boost::json::object{{"count", uncommitted.size()}, {"releases", std::move(listed)}};
                      http::Response resp = http::JsonResponse(ready ? 200 : 503, Serialize(body));
                      if (!ready) resp.headers.emplace_back("Retry-After", "1");
                      respond(std::move(resp));
                    },
                    kReadinessTimeout);
              }});

  router.Add({"GET", "/metrics", {}, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext&, http::Respond respond) {
                const auto stats = ctx.pool.Stats();
                ctx.metrics.SetDbPool(stats.size, stats.connected, stats.busy, stats.queued);
                http::Response r;
                r.status = 200;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = ctx.metrics.Serialize();
                respond(std::move(r));
              }});

  router.Add({"GET", "/openapi.json", {}, http::BodyPolicy::kNone,
              [](const http::RequestContext&, http::Respond respond) {
                respond(http::JsonResponse(200, std::string(OpenApiDocument())));
              }});
}

}  // namespace backstop::api
