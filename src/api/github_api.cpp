// POST /v1/integrations/github: GitHub deployment_status webhooks
// (INTEGRATIONS.md §3). No bearer token: the delivery's
// X-Hub-Signature-256 is verified first, in constant time, against the
// secret named by integrations.github.secret_env (bad or missing → 401).
// Then map (integrations/github), read like a deployment, register
// (deployed_by "github"), render. One transaction, well within GitHub's
// 10 s (GitHub does not redeliver by itself).
#include "backstop/api/api_context.hpp"
#include "backstop/api/deployment_json.hpp"
#include "backstop/api/integration_support.hpp"
#include "backstop/integrations/github.hpp"

namespace backstop::api {

namespace {

constexpr const char* kIntegration = "github";
constexpr const char* kDeployedBy = "github";

void PostDelivery(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const http::Request& req = rc.request;
  if (ctx.github_secret.empty()) {
    return RefuseIntegration(ctx, kIntegration, respond,
                             Error::Unauthorized("GitHub deliveries are refused: integrations.github.secret_env "
                                                 "is not configured"));
  }
  if (!integrations::VerifyGithubSignature(ctx.github_secret, req.body, req.Header("X-Hub-Signature-256"))) {
    return RefuseIntegration(ctx, kIntegration, respond,
                             Error::Unauthorized("missing or bad X-Hub-Signature-256"));
  }
  auto payload = integrations::GithubPayloadJson(req.content_type, req.body);
  if (!payload) return RefuseIntegration(ctx, kIntegration, respond, payload.error());
  const integrations::GithubDefaults defaults{ctx.config.integrations.github.default_release_class,
                                              ctx.config.integrations.github.default_traffic_percent};
  auto mapped = integrations::MapGithubEvent(req.Header("X-GitHub-Event").value_or(""), *payload, defaults);
  if (!mapped) return RefuseIntegration(ctx, kIntegration, respond, mapped.error());
  if (!mapped->deployment) {
    return IgnoreIntake(ctx, kIntegration, mapped->ignored.value_or("not a deployment"), respond);
  }
  auto release = ParseDeploymentEvent(*mapped->deployment, ctx.registry);
  if (!release) return RefuseIntegration(ctx, kIntegration, respond, release.error());
  RegisterIntake(ctx, kIntegration, std::move(release).value(), kDeployedBy, std::move(respond));
}

}  // namespace

void AddGithubRoutes(http::Router& router, ApiContext& ctx) {
  // Public at the router: the signature is the credential. The body may be
  // JSON or form-encoded (GitHub's two content types): the handler checks.
  router.Add({"POST", "/v1/integrations/github", {}, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostDelivery(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
