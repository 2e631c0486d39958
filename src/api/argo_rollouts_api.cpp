// POST /v1/integrations/argo-rollouts/gate: the Argo Rollouts web metric
// (INTEGRATIONS.md §2.1). Parse the deployment fields, run the gate
// (workflow/gate_flow) in one transaction, render the gate answer. A valid
// call always answers 200 with JSON: Argo turns any other status into an
// Error measurement.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/deployment_json.hpp"
#include "backstop/api/integration_support.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/metrics/metrics.hpp"

namespace backstop::api {

namespace {

constexpr const char* kIntegration = "argo-rollouts";

void PostGate(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  auto body = ParseJsonObject(rc.request.body);
  if (!body) return RefuseIntegration(ctx, kIntegration, respond, body.error());
  DeploymentRules rules;
  rules.id_required = true;                          // the AnalysisTemplate names the release
  rules.traffic_may_be_text = true;                  // "{{args.traffic}}" arrives as a string
  rules.traffic_outside_identity = true;             // later calls update it
  rules.previous_equal_to_version_is_absent = true;  // stable == latest hash: no older revision
  auto parsed = ParseDeployment(*body, ctx.registry, rules, rc.request.body);
  if (!parsed) return RefuseIntegration(ctx, kIntegration, respond, parsed.error());
  const std::string actor = rc.principal->name;
  RunIntegration<workflow::GateOutcome>(
      ctx, kIntegration, std::move(respond),
      [&ctx, r = std::move(parsed).value(), actor](pqxx::connection& conn) -> Result<workflow::GateOutcome> {
        pqxx::work tx(conn);
        auto gate = workflow::CallArgoRolloutsGate(tx, ctx.registry, ctx.config.notifiers, r, actor);
        if (!gate) return gate;
        tx.commit();
        return gate;
      },
      [&ctx](workflow::GateOutcome& g) {
        if (g.registered) ctx.metrics.CountDeployment(g.release.release_class, g.release.environment);
        if (g.registered || g.traffic_changed || g.handed_out) ctx.evaluator.NotifyRelease(g.release);
        if (g.handed_out) {
          ctx.metrics.CountGateHandout(kIntegration);
          ctx.metrics.CountActionAttempt("gate", "succeeded");
          ctx.metrics.CountRollback(g.handed_out->decided_by, "succeeded");
        }
        ctx.metrics.CountIntegrationRequest(kIntegration, std::string(integrations::ToString(g.answer.gate)));
        return http::JsonResponse(200, Serialize(GateAnswerToJson(ctx, g)));
      });
}

}  // namespace

void AddArgoRolloutsRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"POST", "/v1/integrations/argo-rollouts/gate", kDeployers, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostGate(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
