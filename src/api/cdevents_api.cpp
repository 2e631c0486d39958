// POST /v1/integrations/cdevents: CDEvents service.deployed / upgraded over
// CloudEvents HTTP, binary or structured mode (INTEGRATIONS.md §3). Map the
// event (integrations/cdevents), read it like a deployment, register it
// (workflow/release_registration), render: 201 registered, 200 a
// redelivery (same source and id), 202 {"ignored"} for other types.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/deployment_json.hpp"
#include "backstop/api/integration_support.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/integrations/cdevents.hpp"

namespace backstop::api {

namespace {

constexpr const char* kIntegration = "cdevents";

void PostCdevent(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const http::Request& req = rc.request;
  integrations::CloudEventRequest ce;
  ce.content_type = req.content_type;
  ce.ce_specversion = req.Header("ce-specversion");
  ce.ce_type = req.Header("ce-type");
  ce.ce_id = req.Header("ce-id");
  ce.ce_source = req.Header("ce-source");
  ce.body = req.body;
  auto mapped = integrations::MapCloudEvent(ce, {ctx.config.integrations.cdevents.default_release_class});
  if (!mapped) return RefuseIntegration(ctx, kIntegration, respond, mapped.error());
  if (!mapped->deployment) return IgnoreIntake(ctx, kIntegration, mapped->ignored.value_or("not a deployment"), respond);
  auto release = ParseDeploymentEvent(*mapped->deployment, ctx.registry);
  if (!release) return RefuseIntegration(ctx, kIntegration, respond, release.error());
  RegisterIntake(ctx, kIntegration, std::move(release).value(), rc.principal->name, std::move(respond));
}

}  // namespace

void AddCdeventsRoutes(http::Router& router, ApiContext& ctx) {
  // The body is application/json (binary mode) or application/cloudevents+json
  // (structured mode): the handler checks which.
  // A pipeline's deployment events, like POST /v1/deployments: the caller
  // comes from memory when the database confirmed it less than a second ago.
  router.Add({"POST", "/v1/integrations/cdevents", kDeployers, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostCdevent(ctx, rc, std::move(respond));
              },
              http::TokenCheck::kRecent});
}

}  // namespace backstop::api
