// POST /v1/integrations/flagger/{hook}: Flagger's webhooks (INTEGRATIONS.md
// §2.2). Flagger sends no headers, so the token is metadata.token (an
// Authorization header works too); it is looked up like a bearer token and
// never logged or stored. Parse, authenticate, run the hook
// (workflow/gate_flow) in one transaction, render. Flagger counts only
// 200-202 as "yes" and drops the body of a 5xx: every "no" is a 403 whose
// details are the reason codes; 5xx means Backstop is unavailable.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/deployment_json.hpp"
#include "backstop/api/integration_support.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/decision/evaluation_json.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/integrations/flagger.hpp"
#include "backstop/metrics/metrics.hpp"

namespace backstop::api {

namespace {

constexpr const char* kIntegration = "flagger";
constexpr const char* kBearer = "Bearer ";

std::optional<std::string> BearerToken(const http::Request& req) {
  const std::string& auth = req.authorization;
  if (!auth.starts_with(kBearer) || auth.size() == std::char_traits<char>::length(kBearer)) return std::nullopt;
  return auth.substr(std::char_traits<char>::length(kBearer));
}

http::Response Render(ApiContext& ctx, workflow::HookOutcome& h) {
  const workflow::GateOutcome& g = h.gate;
  if (g.registered) ctx.metrics.CountDeployment(g.release.release_class, g.release.environment);
  if (g.registered || g.traffic_changed || g.handed_out) ctx.evaluator.NotifyRelease(g.release);
  if (g.handed_out) {
    ctx.metrics.CountGateHandout(kIntegration);
    ctx.metrics.CountActionAttempt("gate", "succeeded");
    ctx.metrics.CountRollback(g.handed_out->decided_by, "succeeded");
  }
  const integrations::HookAnswer& a = h.answer;
  if (a.http_status == 403) {
    ctx.metrics.CountIntegrationRequest(kIntegration, "refused");
    Error refusal = Error::Forbidden(a.code, a.message);
    for (const auto r : a.reasons) refusal.details.emplace_back(decision::ToString(r));
    return http::ErrorResponse(refusal);
  }
  ctx.metrics.CountIntegrationRequest(kIntegration, a.http_status == 202 ? "recorded" : "allowed");
  boost::json::object body = GateAnswerToJson(ctx, g);
  if (a.record_event) body["recorded"] = "integration.event";
  return http::JsonResponse(a.http_status, Serialize(body));
}

// After authentication: validate, then run the hook.
void Continue(ApiContext& ctx, integrations::FlaggerHook hook, const boost::json::object& payload,
              const Principal& who, const http::Respond& respond) {
  integrations::FlaggerDefaults defaults{ctx.config.integrations.flagger.default_release_class,
                                         ctx.config.integrations.flagger.default_traffic_percent};
  auto call = integrations::ParseFlaggerPayload(payload, defaults);
  if (!call) return RefuseIntegration(ctx, kIntegration, respond, call.error());
  DeploymentRules rules;
  rules.traffic_outside_identity = true;
  auto release = ParseDeploymentEvent(call->deployment, ctx.registry, rules);
  if (!release) return RefuseIntegration(ctx, kIntegration, respond, release.error());
  RunIntegration<workflow::HookOutcome>(
      ctx, kIntegration, respond,
      [&ctx, hook, r = std::move(release).value(), event = std::move(call->event),
       actor = who.name](pqxx::connection& conn) -> Result<workflow::HookOutcome> {
        pqxx::work tx(conn);
        auto out = workflow::CallFlaggerHook(tx, ctx.registry, ctx.config.notifiers, r, actor, hook, event);
        if (!out) return out;
        tx.commit();
        return out;
      },
      [&ctx](workflow::HookOutcome& h) { return Render(ctx, h); });
}

void PostHook(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto hook = integrations::ParseFlaggerHook(rc.params.at(0));
  if (!hook) {
    return RefuseIntegration(ctx, kIntegration, respond,
                             Error::NotFound("no Flagger hook " + rc.params.at(0) + " (one of " +
                                             integrations::FlaggerHookNames() + ")"));
  }
  auto payload = ParseJsonObject(rc.request.body);
  if (!payload) return RefuseIntegration(ctx, kIntegration, respond, payload.error());
  std::optional<std::string> token = integrations::FlaggerToken(*payload);
  if (!token) token = BearerToken(rc.request);
  if (!token) {
    return RefuseIntegration(ctx, kIntegration, respond,
                             Error::Unauthorized("missing token: set metadata.token on the Flagger webhook"));
  }
  LookUpToken(ctx, *token,
              [&ctx, hook = *hook, payload = std::move(payload).value(),
               respond = std::move(respond)](Result<std::optional<Principal>> who) mutable {
                if (!who.ok()) return RefuseIntegration(ctx, kIntegration, respond, who.error());
                if (!who.value()) {
                  return RefuseIntegration(ctx, kIntegration, respond,
                                           Error::Unauthorized("invalid or revoked token"));
                }
                const Principal& principal = *who.value();
                if (kDeployers.count(principal.role) == 0) {
                  return RefuseIntegration(
                      ctx, kIntegration, respond,
                      Error::Forbidden("forbidden", "role " + std::string(RoleName(principal.role)) +
                                                        " may not use this route"));
                }
                Guarded(ctx, kIntegration, respond,
                        [&] { Continue(ctx, hook, payload, principal, respond); });
              });
}

}  // namespace

void AddFlaggerRoutes(http::Router& router, ApiContext& ctx) {
  // Public at the router: the token is in the body, checked by the handler.
  router.Add({"POST", "/v1/integrations/flagger/{hook}", {}, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostHook(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
